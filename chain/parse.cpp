// Text → Chain. A small hand-written scanner over string_views, one function
// per section of the format (Part 1, markers, JSON, criteria, breakdown,
// better_response, totals); each returns false after recording the first
// error. The JSON itself is read by nlohmann (without exceptions). Nothing
// here allocates in proportion to anything but the input, recurses on input,
// or throws on input.
#include "chain/parse.h"

#include <charconv>
#include <cmath>
#include <exception>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::chain {
namespace {

constexpr std::string_view kPart1Header = "PART 1: Preference Modeling";
constexpr std::string_view kPart2Header = "PART 2: Final Scoring Scheme";
constexpr std::string_view kCriteriaHeader = "A. Evaluation Criteria & Weights:";
constexpr std::string_view kJsonStart = "<JSON_START>";
constexpr std::string_view kJsonEnd = "<JSON_END>";
constexpr std::string_view kForbiddenInName = "():%/=";
constexpr std::size_t kNpos = std::string_view::npos;

// --- small text helpers ------------------------------------------------------

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t skip_ws(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_ws(s[pos])) ++pos;
  return pos;
}

bool all_ws(std::string_view s) { return skip_ws(s, 0) == s.size(); }

std::string_view trim(std::string_view s) {
  std::size_t b = skip_ws(s, 0);
  std::size_t e = s.size();
  while (e > b && is_ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Trimmed, every whitespace run replaced by one space.
std::string collapse_ws(std::string_view s) {
  std::string out;
  for (char c : trim(s)) {
    if (!is_ws(c)) {
      out += c;
    } else if (out.back() != ' ') {  // trimmed, so `out` is non-empty here
      out += ' ';
    }
  }
  return out;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// End of `phrase` matched at s[pos], or npos. A space in the phrase matches
// one or more whitespace characters: the leniency every header gets.
std::size_t match_phrase(std::string_view s, std::size_t pos, std::string_view phrase) {
  for (char want : phrase) {
    if (want == ' ') {
      if (pos >= s.size() || !is_ws(s[pos])) return kNpos;
      pos = skip_ws(s, pos);
    } else {
      if (pos >= s.size() || s[pos] != want) return kNpos;
      ++pos;
    }
  }
  return pos;
}

struct Span {
  std::size_t begin = kNpos;
  std::size_t end = kNpos;
  bool found() const { return begin != kNpos; }
};

Span find_phrase(std::string_view s, std::size_t from, std::string_view phrase) {
  for (std::size_t p = s.find(phrase.front(), from); p != kNpos; p = s.find(phrase.front(), p + 1)) {
    if (std::size_t e = match_phrase(s, p, phrase); e != kNpos) return {p, e};
  }
  return {};
}

// First `phrase` at or after `from` that starts a line (after a newline and
// optional spaces or tabs).
Span find_line_phrase(std::string_view s, std::size_t from, std::string_view phrase) {
  for (std::size_t nl = s.find('\n', from); nl != kNpos; nl = s.find('\n', nl + 1)) {
    std::size_t p = nl + 1;
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) ++p;
    if (std::size_t e = match_phrase(s, p, phrase); e != kNpos) return {p, e};
  }
  return {};
}

enum class IntParse { kOk, kNotInteger, kOutOfRange };

// The whole of `tok` as a decimal integer (an optional leading '+' allowed).
IntParse parse_int(std::string_view tok, int& out) {
  if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
  if (tok.empty()) return IntParse::kNotInteger;
  auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
  if (ec == std::errc::result_out_of_range) return IntParse::kOutOfRange;
  if (ec != std::errc() || ptr != tok.data() + tok.size()) return IntParse::kNotInteger;
  return IntParse::kOk;
}

std::string excerpt(std::string_view s) {
  constexpr std::size_t kMaxShown = 60;  // messages stay one line in logs
  std::string shown(s.substr(0, kMaxShown));
  for (char& c : shown) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "'" + shown + (s.size() > kMaxShown ? "...'" : "'");
}

// CRLF and lone CR become LF, so every later rule thinks in '\n' only.
std::string normalise_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// --- the parser --------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view text, std::size_t n_responses)
      : text_(normalise_newlines(text)), n_(n_responses) {}

  ParseResult run() {
    chain_.scores.assign(n_, {});
    final_totals_.assign(n_, 0.0);
    stated_totals_.assign(n_, 0.0);
    const bool structure = split_markers() && parse_part1() && parse_json() && parse_rationale() &&
                           parse_better_response();
    if (structure && !weight_sum_message_.empty()) {
      // Totals cannot be checked against weights that do not sum to 100.
      return ParseResult{ErrorCode::kWeightSum, std::move(weight_sum_message_), std::nullopt,
                         std::move(chain_)};
    }
    if (structure && check_totals()) {
      chain_.stated_totals = stated_totals_;
      return ParseResult{ErrorCode::kOk, "", std::move(chain_), std::nullopt};
    }
    if (code_ == ErrorCode::kTotalMismatch) {
      chain_.stated_totals = stated_totals_;
      return ParseResult{code_, std::move(message_), std::nullopt, std::move(chain_)};
    }
    return ParseResult{code_, std::move(message_), std::nullopt, std::nullopt};
  }

 private:
  bool fail(ErrorCode code, std::string message) {
    code_ = code;
    message_ = std::move(message);
    return false;
  }

  // <JSON_START> ... <JSON_END>: cut at the first of each, in that order.
  bool split_markers() {
    std::string_view t = text_;
    std::size_t s = t.find(kJsonStart);
    std::size_t e = s == kNpos ? kNpos : t.find(kJsonEnd, s + kJsonStart.size());
    if (s == kNpos || e == kNpos) {
      return fail(ErrorCode::kMissingJsonMarkers,
                  s == kNpos ? "no <JSON_START> marker" : "no <JSON_END> after <JSON_START>");
    }
    if (!all_ws(t.substr(e + kJsonEnd.size()))) {
      return fail(ErrorCode::kStrayText,
                  "text after <JSON_END>: " + excerpt(trim(t.substr(e + kJsonEnd.size()))));
    }
    head_ = t.substr(0, s);
    body_ = t.substr(s + kJsonStart.size(), e - s - kJsonStart.size());
    return true;
  }

  bool parse_part1() {
    std::size_t p = match_phrase(head_, skip_ws(head_, 0), kPart1Header);
    if (p == kNpos) {
      if (find_phrase(head_, 0, kPart1Header).found()) {
        return fail(ErrorCode::kStrayText, "text before \"PART 1: Preference Modeling\"");
      }
      return fail(ErrorCode::kMissingPart1, "no \"PART 1: Preference Modeling\" header at the start");
    }
    p = match_phrase(head_, skip_ws(head_, p), "Persona:");
    if (p == kNpos) return fail(ErrorCode::kMissingPart1Field, "PART 1 does not continue with \"Persona:\"");
    Span scenario = find_line_phrase(head_, p, "Scenario:");
    if (!scenario.found()) return fail(ErrorCode::kMissingPart1Field, "no \"Scenario:\" line after Persona");
    Span derivation = find_line_phrase(head_, scenario.end, "Criteria derivation:");
    if (!derivation.found()) {
      return fail(ErrorCode::kMissingPart1Field, "no \"Criteria derivation:\" line after Scenario");
    }
    Span part2 = find_line_phrase(head_, derivation.end, kPart2Header);
    if (!part2.found()) {
      return fail(ErrorCode::kMissingPart2, "no \"PART 2: Final Scoring Scheme\" line after Criteria derivation");
    }
    if (!all_ws(head_.substr(part2.end))) {
      return fail(ErrorCode::kStrayText, "text between the PART 2 line and <JSON_START>: " +
                                             excerpt(trim(head_.substr(part2.end))));
    }
    chain_.persona = trim(head_.substr(p, scenario.begin - p));
    chain_.scenario = trim(head_.substr(scenario.end, derivation.begin - scenario.end));
    chain_.derivation = trim(head_.substr(derivation.end, part2.begin - derivation.end));
    for (auto [field, name] : {std::pair{&chain_.persona, "Persona"}, {&chain_.scenario, "Scenario"},
                               {&chain_.derivation, "Criteria derivation"}}) {
      if (field->empty()) return fail(ErrorCode::kMissingPart1Field, std::string(name) + " is empty");
    }
    return true;
  }

  bool parse_json() {
    json_ = nlohmann::json::parse(body_.begin(), body_.end(), nullptr, /*allow_exceptions=*/false);
    if (json_.is_discarded()) return fail(ErrorCode::kBadJson, "the text between the JSON markers is not valid JSON");
    if (!json_.is_object()) return fail(ErrorCode::kBadJson, "the JSON between the markers is not an object");
    auto it = json_.find("rationale");
    if (it == json_.end() || !it->is_string()) {
      return fail(ErrorCode::kMissingRationale, "the JSON has no string \"rationale\"");
    }
    rationale_ = it->get<std::string>();
    auto br = json_.find("better_response");
    if (br == json_.end() || !br->is_object()) {
      return fail(ErrorCode::kMissingBetterResponse, "the JSON has no object \"better_response\"");
    }
    return true;
  }

  // "A. Evaluation Criteria & Weights: ... B. Scoring Breakdown: ..."
  bool parse_rationale() {
    std::string_view r = rationale_;
    std::size_t a = match_phrase(r, skip_ws(r, 0), kCriteriaHeader);
    if (a == kNpos) {
      return fail(ErrorCode::kCriteriaUnparsable,
                  "the rationale does not start with \"A. Evaluation Criteria & Weights:\"");
    }
    Span b = find_phrase(r, a, kBreakdownHeader);
    if (!b.found()) {
      return fail(ErrorCode::kBreakdownUnparsable, "the rationale has no \"B. Scoring Breakdown:\" section");
    }
    return parse_criteria(r.substr(a, b.begin - a)) && parse_breakdown(r.substr(b.end));
  }

  // "1. brevity (40%) 2. depth (60%)"
  bool parse_criteria(std::string_view s) {
    std::size_t pos = 0;
    int sum = 0;
    for (std::size_t number = 1;; ++number) {
      pos = skip_separators(s, pos);
      if (pos == s.size()) break;
      if (!expect_item_number(s, pos, number)) return false;
      std::size_t open = s.find('(', pos);
      std::size_t close = open == kNpos ? kNpos : s.find(')', open);
      if (close == kNpos) {
        return fail(ErrorCode::kCriteriaUnparsable,
                    "criterion " + std::to_string(number) + " has no \"(<weight>%)\"");
      }
      std::string name = collapse_ws(s.substr(pos, open - pos));
      if (!check_name(name, number)) return false;
      std::string_view inner = trim(s.substr(open + 1, close - open - 1));
      if (inner.empty() || inner.back() != '%') {
        return fail(ErrorCode::kCriteriaUnparsable, "criterion " + excerpt(name) +
                                                        " has no \"(<weight>%)\" but " + excerpt(inner));
      }
      int weight = 0;
      if (!parse_weight(trim(inner.substr(0, inner.size() - 1)), name, weight)) return false;
      if (!add_criterion(name, weight)) return false;
      sum += weight;
      pos = close + 1;
    }
    if (chain_.criteria.empty()) return fail(ErrorCode::kCriteriaUnparsable, "no criteria listed");
    if (sum != 100) {
      // Not fatal yet: the rest is parsed so that a caller may read the
      // breakdown with renormalised weights (ParseResult::breakdown); the
      // code is still kWeightSum unless a later part is malformed too.
      if (sum <= 0) return fail(ErrorCode::kWeightSum, "criterion weights sum to 0, not 100");
      weight_sum_message_ = "criterion weights sum to " + std::to_string(sum) + ", not 100";
    }
    return true;
  }

  static std::size_t skip_separators(std::string_view s, std::size_t pos) {
    while (pos < s.size() && (is_ws(s[pos]) || s[pos] == ',' || s[pos] == ';')) ++pos;
    return pos;
  }

  // "<number>." at s[pos]; advances pos past the dot.
  bool expect_item_number(std::string_view s, std::size_t& pos, std::size_t number) {
    std::string want = std::to_string(number) + ".";
    if (s.compare(pos, want.size(), want) != 0 || (pos + want.size() < s.size() && is_digit(s[pos + want.size()]))) {
      return fail(ErrorCode::kCriteriaUnparsable,
                  "expected criterion \"" + want + "\" at " + excerpt(s.substr(pos)));
    }
    pos += want.size();
    return true;
  }

  bool check_name(const std::string& name, std::size_t number) {
    if (name.empty()) {
      return fail(ErrorCode::kCriteriaUnparsable, "criterion " + std::to_string(number) + " has no name");
    }
    if (name.find_first_of(kForbiddenInName) != std::string::npos) {
      return fail(ErrorCode::kCriteriaUnparsable,
                  "criterion name " + excerpt(name) + " contains one of ( ) : % / =");
    }
    return true;
  }

  bool parse_weight(std::string_view tok, const std::string& name, int& weight) {
    switch (parse_int(tok, weight)) {
      case IntParse::kNotInteger:
        return fail(ErrorCode::kWeightNotInteger,
                    "weight of " + excerpt(name) + " is " + excerpt(tok) + ", not an integer percent");
      case IntParse::kOutOfRange:
        weight = -1;  // reported just below
        break;
      case IntParse::kOk:
        break;
    }
    if (weight < 0 || weight > 100) {
      return fail(ErrorCode::kWeightOutOfRange, "weight of " + excerpt(name) + " is " + excerpt(tok) +
                                                    ", outside 0..100");
    }
    return true;
  }

  bool add_criterion(const std::string& name, int weight) {
    auto [it, inserted] = index_.emplace(lower_ascii(name), chain_.criteria.size());
    if (!inserted) return fail(ErrorCode::kDuplicateCriterion, "criterion " + excerpt(name) + " is listed twice");
    chain_.criteria.push_back({name, weight});
    return true;
  }

  // "Response 1: brevity 7/10 depth 4/10 Final = 5.20 Response 2: ..."
  bool parse_breakdown(std::string_view s) {
    std::vector<Span> headers;
    std::vector<std::size_t> which;
    if (!find_response_headers(s, headers, which)) return false;
    if (headers.empty()) return fail(ErrorCode::kMissingResponse, "the breakdown has no \"Response <k>:\" blocks");
    if (!all_ws(s.substr(0, headers.front().begin))) {
      return fail(ErrorCode::kBreakdownUnparsable,
                  "text before the first \"Response <k>:\": " + excerpt(trim(s.substr(0, headers.front().begin))));
    }
    std::vector<bool> seen(n_, false);
    for (std::size_t h = 0; h < headers.size(); ++h) {
      std::size_t r = which[h];
      if (seen[r]) return fail(ErrorCode::kBreakdownUnparsable, "Response " + std::to_string(r + 1) + " scored twice");
      seen[r] = true;
      std::size_t end = h + 1 < headers.size() ? headers[h + 1].begin : s.size();
      if (!parse_response_block(r, s.substr(headers[h].end, end - headers[h].end))) return false;
    }
    for (std::size_t r = 0; r < n_; ++r) {
      if (!seen[r]) return fail(ErrorCode::kMissingResponse, "the breakdown has no Response " + std::to_string(r + 1));
    }
    return true;
  }

  // Every "Response <token>:" (names cannot hold ':', so this never cuts a
  // criterion); <token> must be 1..n.
  bool find_response_headers(std::string_view s, std::vector<Span>& headers, std::vector<std::size_t>& which) {
    for (std::size_t p = s.find("Response"); p != kNpos; p = s.find("Response", p + 1)) {
      std::size_t q = p + 8;
      if (q >= s.size() || !is_ws(s[q])) continue;
      q = skip_ws(s, q);
      std::size_t tok_end = q;
      while (tok_end < s.size() && !is_ws(s[tok_end]) && s[tok_end] != ':') ++tok_end;
      std::size_t colon = skip_ws(s, tok_end);
      if (tok_end == q || colon >= s.size() || s[colon] != ':') continue;
      std::string_view tok = s.substr(q, tok_end - q);
      int k = 0;
      if (parse_int(tok, k) != IntParse::kOk || k < 1 || static_cast<std::size_t>(k) > n_ ||
          tok.front() == '+' || tok.front() == '0') {
        return fail(ErrorCode::kUnknownResponseKey, "\"Response " + std::string(tok) + ":\" is not one of Response 1.." +
                                                         std::to_string(n_));
      }
      headers.push_back({p, colon + 1});
      which.push_back(static_cast<std::size_t>(k - 1));
    }
    return true;
  }

  // "brevity 7/10 depth 4/10 Final = 5.20" for response r.
  bool parse_response_block(std::size_t r, std::string_view s) {
    const std::string who = "Response " + std::to_string(r + 1);
    std::vector<int> scores(chain_.criteria.size(), 0);
    std::size_t n_scored = 0;
    bool have_final = false;
    for (std::size_t pos = skip_separators(s, 0); pos < s.size(); pos = skip_separators(s, pos)) {
      if (std::size_t f = match_final(s, pos); f != kNpos) {
        if (!parse_final(s.substr(f), who, final_totals_[r])) return false;
        have_final = true;
        break;
      }
      std::size_t slash = find_out_of_ten(s, pos);
      if (slash == kNpos) {
        return fail(ErrorCode::kBreakdownUnparsable,
                    who + ": expected \"<criterion> <score>/10\" or \"Final = <total>\" at " + excerpt(s.substr(pos)));
      }
      if (!parse_score_item(s.substr(pos, slash - pos), who, scores)) return false;
      ++n_scored;
      pos = slash + 3;
    }
    if (n_scored == 0) return fail(ErrorCode::kMissingResponse, who + " has no scores");
    if (!have_final) return fail(ErrorCode::kMissingResponse, who + " has no \"Final = <total>\"");
    for (std::size_t k = 0; k < scores.size(); ++k) {
      if (scores[k] == 0) {
        return fail(ErrorCode::kScoreMissing, who + " gives no score for " + excerpt(chain_.criteria[k].name));
      }
    }
    chain_.scores[r] = std::move(scores);
    return true;
  }

  // End of "Final =" at s[pos], or npos.
  static std::size_t match_final(std::string_view s, std::size_t pos) {
    if (s.compare(pos, 5, "Final") != 0) return kNpos;
    std::size_t q = skip_ws(s, pos + 5);
    return (q < s.size() && s[q] == '=') ? q + 1 : kNpos;
  }

  // The first "/10" at or after pos that is not "/100".
  static std::size_t find_out_of_ten(std::string_view s, std::size_t pos) {
    for (std::size_t p = s.find("/10", pos); p != kNpos; p = s.find("/10", p + 1)) {
      if (p + 3 >= s.size() || !is_digit(s[p + 3])) return p;
    }
    return kNpos;
  }

  // "<total>" then nothing but whitespace (one trailing , ; or . is forgiven).
  bool parse_final(std::string_view s, const std::string& who, double& total) {
    std::size_t b = skip_ws(s, 0);
    auto [ptr, ec] = std::from_chars(s.data() + b, s.data() + s.size(), total);
    std::size_t used = static_cast<std::size_t>(ptr - s.data());
    if (ec != std::errc() || used == b) {
      return fail(ErrorCode::kBreakdownUnparsable, who + ": \"Final =\" is not followed by a number");
    }
    if (used < s.size() && (s[used] == ',' || s[used] == ';' || s[used] == '.')) ++used;
    if (!all_ws(s.substr(used))) {
      return fail(ErrorCode::kBreakdownUnparsable, who + ": text after \"Final = <total>\": " + excerpt(trim(s.substr(used))));
    }
    return true;
  }

  // "<name> <score>" (the text before "/10").
  bool parse_score_item(std::string_view item, const std::string& who, std::vector<int>& scores) {
    item = trim(item);
    std::size_t split = item.size();
    while (split > 0 && !is_ws(item[split - 1])) --split;
    if (split == 0) {
      return fail(ErrorCode::kBreakdownUnparsable, who + ": score " + excerpt(item) + "/10 has no criterion name");
    }
    std::string_view tok = item.substr(split);
    std::string name = collapse_ws(item.substr(0, split));
    int score = 0;
    const IntParse status = parse_int(tok, score);
    if (status == IntParse::kNotInteger) {
      return fail(ErrorCode::kScoreNotInteger, who + ": score of " + excerpt(name) + " is " + excerpt(tok) + ", not an integer");
    }
    if (status == IntParse::kOutOfRange || score < 1 || score > 10) {
      return fail(ErrorCode::kScoreOutOfRange, who + ": score of " + excerpt(name) + " is " + excerpt(tok) + ", outside 1..10");
    }
    auto it = index_.find(lower_ascii(name));
    if (it == index_.end()) {
      return fail(ErrorCode::kScoreMissing, who + " scores " + excerpt(name) + ", which is not a listed criterion");
    }
    if (scores[it->second] != 0) {
      return fail(ErrorCode::kDuplicateCriterion, who + " scores " + excerpt(name) + " twice");
    }
    scores[it->second] = score;
    return true;
  }

  // {"response_1": t1, ..., "response_b": tb}, exactly these keys.
  bool parse_better_response() {
    const nlohmann::json& br = json_["better_response"];
    std::vector<bool> seen(n_, false);
    for (auto it = br.begin(); it != br.end(); ++it) {
      std::size_t r = response_index(it.key());
      if (r == kNpos) {
        return fail(ErrorCode::kUnknownResponseKey, "better_response key " + excerpt(it.key()) +
                                                        " is not one of response_1..response_" + std::to_string(n_));
      }
      if (!it.value().is_number()) {
        return fail(ErrorCode::kMissingResponse, "better_response." + it.key() + " is not a number");
      }
      stated_totals_[r] = it.value().get<double>();
      seen[r] = true;
    }
    for (std::size_t r = 0; r < n_; ++r) {
      if (!seen[r]) return fail(ErrorCode::kMissingResponse, "better_response has no " + response_key(r));
    }
    return true;
  }

  std::size_t response_index(const std::string& key) const {
    for (std::size_t r = 0; r < n_; ++r) {
      if (key == response_key(r)) return r;
    }
    return kNpos;
  }

  bool check_totals() {
    const std::vector<double> recomputed = recompute_totals(chain_);
    for (std::size_t r = 0; r < n_; ++r) {
      for (auto [stated, where] : {std::pair{final_totals_[r], "\"Final =\" in the rationale"},
                                   {stated_totals_[r], "better_response"}}) {
        if (!(std::fabs(stated - recomputed[r]) <= kTotalTolerance + 1e-9)) {
          return fail(ErrorCode::kTotalMismatch,
                      "Response " + std::to_string(r + 1) + ": " + where + " states " + std::to_string(stated) +
                          " but its breakdown gives " + std::to_string(recomputed[r]) + " (Σ w·s/100)");
        }
      }
    }
    return true;
  }

  std::string text_;
  std::size_t n_;
  std::string_view head_, body_;
  nlohmann::json json_;
  std::string rationale_;
  std::unordered_map<std::string, std::size_t> index_;  // lower-cased name → criterion
  std::vector<double> final_totals_;   // "Final = t" per response
  std::vector<double> stated_totals_;  // better_response per response
  Chain chain_;
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string weight_sum_message_;  // set when only the weights' sum is off
};

constexpr std::array<std::string_view, kNumErrorCodes> kCodeNames = {
    "ok",
    "missing_json_markers",
    "stray_text",
    "missing_part1",
    "missing_part1_field",
    "missing_part2",
    "bad_json",
    "missing_rationale",
    "missing_better_response",
    "criteria_unparsable",
    "weight_not_integer",
    "weight_out_of_range",
    "duplicate_criterion",
    "weight_sum",
    "breakdown_unparsable",
    "unknown_response_key",
    "missing_response",
    "score_not_integer",
    "score_out_of_range",
    "score_missing",
    "total_mismatch",
    "internal",
};

}  // namespace

std::string_view error_code_name(ErrorCode code) {
  auto i = static_cast<std::size_t>(code);
  return i < kCodeNames.size() ? kCodeNames[i] : "invalid";
}

ParseResult parse(std::string_view text, std::size_t n_responses) {
  PGENRM_CHECK(n_responses >= kMinResponses,
               "chain::parse asked for " + std::to_string(n_responses) + " responses",
               "a chain compares at least 2 responses; pass the number shown in the prompt");
  // The parser is meant to fail only through codes; anything thrown is a bug
  // of ours, reported as kInternal rather than taking a rollout worker down.
  try {
    return Parser(text, n_responses).run();
  } catch (const std::exception& e) {
    return ParseResult{ErrorCode::kInternal, std::string("chain parser bug: ") + e.what(), std::nullopt,
                       std::nullopt};
  }
}

std::optional<std::vector<double>> extract_scores(const ParseResult& parsed) {
  if (!parsed.ok() || !parsed.chain) return std::nullopt;
  return recompute_totals(*parsed.chain);
}

std::optional<std::vector<double>> extract_breakdown_scores(const ParseResult& parsed,
                                                            bool renormalise_weights) {
  if (parsed.chain) return recompute_totals(*parsed.chain);
  if (!parsed.breakdown) return std::nullopt;
  if (parsed.error == ErrorCode::kTotalMismatch) return recompute_totals(*parsed.breakdown);
  if (parsed.error != ErrorCode::kWeightSum || !renormalise_weights) return std::nullopt;
  // Σ w·s / Σ w: the verdict the chain's weights imply, read as proportions.
  const Chain& c = *parsed.breakdown;
  double wsum = 0;
  for (const auto& cr : c.criteria) wsum += cr.weight;
  std::vector<double> out;
  for (const auto& row : c.scores) {
    double t = 0;
    for (std::size_t k = 0; k < c.criteria.size(); ++k) t += c.criteria[k].weight * row[k];
    out.push_back(t / wsum);
  }
  return out;
}

ErrorCounts& ErrorCounts::operator+=(const ErrorCounts& other) {
  for (std::size_t i = 0; i < kNumErrorCodes; ++i) by_code[i] += other.by_code[i];
  return *this;
}

std::int64_t ErrorCounts::total() const {
  std::int64_t t = 0;
  for (std::int64_t c : by_code) t += c;
  return t;
}

std::int64_t ErrorCounts::errors() const { return total() - count(ErrorCode::kOk); }

std::map<std::string, double> ErrorCounts::to_metrics(const std::string& prefix) const {
  std::map<std::string, double> m;
  for (std::size_t i = 0; i < kNumErrorCodes; ++i) {
    m[prefix + std::string(kCodeNames[i])] = static_cast<double>(by_code[i]);
  }
  m[prefix + "total"] = static_cast<double>(total());
  m[prefix + "errors"] = static_cast<double>(errors());
  m[prefix + "error_rate"] = total() > 0 ? static_cast<double>(errors()) / static_cast<double>(total()) : 0.0;
  return m;
}

}  // namespace pgenrm::chain
