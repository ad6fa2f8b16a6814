// libFuzzer target for chain::parse, and the property check it runs.
//
// For any bytes, with b = 2 and b = 3: parse() returns (no throw, no crash,
// no sanitizer report), reports either a Chain or an error code with a
// message, never kInternal; a Chain it returns is valid by the rules of
// parse.h; and render() of it parses back to the same Chain (totals within
// rounding to two decimals) and renders to the same text again.
//
// The same file is compiled into the GoogleTest suite (tests/chain/
// test_fuzz_fallback.cpp calls check_parse_properties on a corpus and seeded
// mutations, with g++), and, with clang and -DPGENRM_FUZZ=ON, into a real
// libFuzzer binary (fuzz/CMakeLists.txt). It does not generate inputs itself.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "chain/parse.h"
#include "chain/render.h"

namespace pgenrm::chain::fuzz {
namespace {

// Empty when `c` obeys the rules parse() promises for n responses.
std::string check_valid(const Chain& c, std::size_t n) {
  if (c.persona.empty() || c.scenario.empty() || c.derivation.empty()) return "empty Part-1 field";
  if (c.criteria.empty()) return "no criteria";
  int sum = 0;
  for (const Criterion& k : c.criteria) {
    if (k.weight < 0 || k.weight > 100) return "weight out of range";
    sum += k.weight;
  }
  if (sum != 100) return "weights do not sum to 100";
  if (c.scores.size() != n || c.stated_totals.size() != n) return "wrong number of responses";
  for (const auto& row : c.scores) {
    if (row.size() != c.criteria.size()) return "score row of the wrong length";
    for (int s : row) {
      if (s < 1 || s > 10) return "score out of 1..10";
    }
  }
  const std::vector<double> totals = recompute_totals(c);
  for (std::size_t r = 0; r < n; ++r) {
    if (!(std::fabs(totals[r] - c.stated_totals[r]) <= kTotalTolerance + 1e-9)) return "stated total off";
  }
  return "";
}

std::string check_round_trip(const Chain& c, std::size_t n) {
  const std::string text = render(c);
  ParseResult again = parse(text, n);
  if (!again.ok()) {
    return "render(parse(x)) does not parse: " + std::string(error_code_name(again.error)) + ": " + again.message;
  }
  const Chain& d = *again.chain;
  if (d.persona != c.persona || d.scenario != c.scenario || d.derivation != c.derivation) return "Part 1 changed";
  if (!(d.criteria == c.criteria)) return "criteria changed";
  if (d.scores != c.scores) return "scores changed";
  for (std::size_t r = 0; r < n; ++r) {
    // render prints two decimals: a stated 7.351 comes back as 7.35.
    if (!(std::fabs(d.stated_totals[r] - c.stated_totals[r]) <= 0.005 + 1e-9)) return "stated total changed";
  }
  if (render(d) != text) return "render is not a fixed point";
  return "";
}

}  // namespace

// Empty if every property holds for `input`; else what broke.
std::string check_parse_properties(std::string_view input) {
  for (std::size_t n : {std::size_t{2}, std::size_t{3}}) {
    try {
      ParseResult r = parse(input, n);
      if (r.error == ErrorCode::kInternal) return "kInternal: " + r.message;
      if (r.ok() != r.chain.has_value()) return "ok() and chain disagree";
      if (!r.ok()) {
        if (r.message.empty()) return "error without a message";
        continue;
      }
      if (std::string e = check_valid(*r.chain, n); !e.empty()) return "invalid chain accepted: " + e;
      if (std::string e = check_round_trip(*r.chain, n); !e.empty()) return e;
    } catch (const std::exception& e) {
      return std::string("exception: ") + e.what();
    } catch (...) {
      return "unknown exception";
    }
  }
  return "";
}

}  // namespace pgenrm::chain::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string failure = pgenrm::chain::fuzz::check_parse_properties(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!failure.empty()) {
    std::fprintf(stderr, "chain parse property violated: %s\n", failure.c_str());
    std::abort();  // libFuzzer saves the input as crash-<sha1>
  }
  return 0;
}
