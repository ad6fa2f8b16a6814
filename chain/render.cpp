// Chain → canonical text. Only formatting lives here; the grammar it writes
// is the one parse.cpp reads, and the round-trip tests hold the two together.
#include "chain/render.h"

#include <cmath>
#include <charconv>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::chain {
namespace {

// The totals to print: the stated ones, or the recomputed ones when none are
// stated. Checks the shape so a malformed caller-built chain fails loudly.
std::vector<double> totals_to_print(const Chain& c) {
  PGENRM_CHECK(c.scores.size() >= kMinResponses,
               "cannot render a chain with " + std::to_string(c.scores.size()) + " responses",
               "a chain compares at least 2 responses; fill Chain::scores with one row per response");
  std::vector<double> totals = recompute_totals(c);  // checks the row lengths
  if (!c.stated_totals.empty()) {
    PGENRM_CHECK(c.stated_totals.size() == c.scores.size(),
                 "chain states " + std::to_string(c.stated_totals.size()) + " totals for " +
                     std::to_string(c.scores.size()) + " responses",
                 "give one stated total per response, or leave stated_totals empty to render "
                 "the recomputed totals");
    totals = c.stated_totals;
  }
  for (double t : totals) {
    PGENRM_CHECK(std::isfinite(t), "cannot render a non-finite total",
                 "stated totals must be finite numbers");
  }
  return totals;
}

// A JSON string literal of `s`. "<JSON_" inside it is written as
// "\u003cJSON_", so text inside the JSON can never close or reopen the
// markers that delimit it (the parser cuts at the first <JSON_END>).
std::string json_string(const std::string& s) {
  std::string out =
      nlohmann::json(s).dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
  for (std::size_t pos = out.find("<JSON_"); pos != std::string::npos; pos = out.find("<JSON_", pos)) {
    out.replace(pos, 1, "\\u003c");
  }
  return out;
}

std::string rationale_with(const Chain& c, const std::vector<double>& totals) {
  std::string s = "A. Evaluation Criteria & Weights:";
  for (std::size_t k = 0; k < c.criteria.size(); ++k) {
    s += " " + std::to_string(k + 1) + ". " + c.criteria[k].name + " (" +
         std::to_string(c.criteria[k].weight) + "%)";
  }
  s += " ";
  s += kBreakdownHeader;
  for (std::size_t r = 0; r < c.scores.size(); ++r) {
    s += " Response " + std::to_string(r + 1) + ":";
    for (std::size_t k = 0; k < c.criteria.size(); ++k) {
      s += " " + c.criteria[k].name + " " + std::to_string(c.scores[r][k]) + "/10";
    }
    s += " Final = " + format_total(totals[r]);
  }
  return s;
}

}  // namespace

std::string format_total(double total) {
  // to_chars, not printf: independent of the C locale's decimal separator.
  char buf[400];  // the longest finite double in fixed notation fits in ~330
  auto res = std::to_chars(buf, buf + sizeof buf, total, std::chars_format::fixed, 2);
  return res.ec == std::errc() ? std::string(buf, res.ptr) : std::string("nan");
}

std::string render_rationale(const Chain& c) { return rationale_with(c, totals_to_print(c)); }

std::string render(const Chain& c) {
  const std::vector<double> totals = totals_to_print(c);
  std::string better = "{";
  for (std::size_t r = 0; r < totals.size(); ++r) {
    if (r > 0) better += ", ";
    // Written by hand, not by nlohmann: it would print 6.0, not 6.00.
    better += "\"" + response_key(r) + "\": " + format_total(totals[r]);
  }
  better += "}";
  return "PART 1: Preference Modeling\nPersona: " + c.persona + "\nScenario: " + c.scenario +
         "\nCriteria derivation: " + c.derivation + "\nPART 2: Final Scoring Scheme\n<JSON_START>" +
         "{\"rationale\": " + json_string(rationale_with(c, totals)) +
         ", \"better_response\": " + better + "}<JSON_END>";
}

}  // namespace pgenrm::chain
