// Render and parse: the canonical text, one crafted input per error code, the
// render → parse round trip, whitespace leniency, the total tolerance, and
// the error counters.
#include <gtest/gtest.h>

#include <set>

#include "chain/parse.h"
#include "chain/render.h"
#include "chain_fixtures.h"
#include "core/error.h"

namespace pgenrm::chain {
namespace {

using testing::example_chain;
using testing::example_text;
using testing::replaced;

// Parses and expects `code`, printing the message on a mismatch.
void expect_error(const std::string& text, ErrorCode code, std::size_t n = 2) {
  ParseResult r = parse(text, n);
  EXPECT_EQ(error_code_name(r.error), error_code_name(code)) << "message: " << r.message << "\ntext:\n" << text;
  EXPECT_FALSE(r.chain.has_value());
  if (code != ErrorCode::kOk) {
    EXPECT_FALSE(r.message.empty());
  }
}

TEST(Render, ExampleIsTheCanonicalText) { EXPECT_EQ(render(example_chain()), example_text()); }

TEST(Render, EmptyStatedTotalsRenderTheRecomputedOnes) {
  Chain c = example_chain();
  c.stated_totals.clear();
  EXPECT_EQ(render(c), example_text());
}

TEST(Render, TotalsHaveTwoDecimals) {
  EXPECT_EQ(format_total(7.35), "7.35");
  EXPECT_EQ(format_total(6.0), "6.00");
  EXPECT_EQ(format_total(10.0), "10.00");
}

TEST(Render, KeysForThreeResponses) {
  Chain c = example_chain();
  c.scores.push_back({5, 5});
  c.stated_totals.push_back(5.0);
  std::string t = render(c);
  EXPECT_NE(t.find("\"response_3\": 5.00}"), std::string::npos) << t;
  EXPECT_NE(t.find("Response 3: brevity 5/10 depth 5/10 Final = 5.00\""), std::string::npos) << t;
}

TEST(Render, RejectsMalformedChains) {
  Chain one = example_chain();
  one.scores.resize(1);
  one.stated_totals.resize(1);
  EXPECT_THROW(render(one), Error);
  Chain short_row = example_chain();
  short_row.scores[1].pop_back();
  EXPECT_THROW(render(short_row), Error);
  Chain totals = example_chain();
  totals.stated_totals.push_back(1.0);
  EXPECT_THROW(render(totals), Error);
}

TEST(Parse, ExampleParsesToTheChain) {
  ParseResult r = parse(example_text(), 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(*r.chain, example_chain());
  EXPECT_TRUE(r.message.empty());
}

TEST(Parse, FewerThanTwoResponsesIsACallerBug) { EXPECT_THROW(parse(example_text(), 1), Error); }

// --- one test per error code ---------------------------------------------------

TEST(ParseErrors, MissingJsonMarkers) {
  expect_error(replaced(example_text(), "<JSON_END>", ""), ErrorCode::kMissingJsonMarkers);
  expect_error(replaced(example_text(), "<JSON_START>", ""), ErrorCode::kMissingJsonMarkers);
  expect_error("", ErrorCode::kMissingJsonMarkers);
}

TEST(ParseErrors, StrayText) {
  expect_error(example_text() + " Hope this helps!", ErrorCode::kStrayText);
  expect_error("Sure! " + example_text(), ErrorCode::kStrayText);
  expect_error(replaced(example_text(), "Scheme\n", "Scheme\nHere is the JSON:\n"), ErrorCode::kStrayText);
}

TEST(ParseErrors, MissingPart1) {
  expect_error(replaced(example_text(), "PART 1: Preference Modeling", "Part one"), ErrorCode::kMissingPart1);
}

TEST(ParseErrors, MissingPart1Field) {
  expect_error(replaced(example_text(), "Scenario:", "Situation:"), ErrorCode::kMissingPart1Field);
  expect_error(replaced(example_text(), "Persona:", "Person:"), ErrorCode::kMissingPart1Field);
  expect_error(replaced(example_text(), "Criteria derivation:", "Derivation:"), ErrorCode::kMissingPart1Field);
  expect_error(replaced(example_text(), "Writing a work email.", "  "), ErrorCode::kMissingPart1Field);
  // The fields come in order, each starting a line.
  expect_error(replaced(example_text(), "\nScenario:", " Scenario:"), ErrorCode::kMissingPart1Field);
}

TEST(ParseErrors, MissingPart2) {
  expect_error(replaced(example_text(), "PART 2: Final Scoring Scheme", "PART 2"), ErrorCode::kMissingPart2);
}

TEST(ParseErrors, BadJson) {
  expect_error(replaced(example_text(), "}}<JSON_END>", "}<JSON_END>"), ErrorCode::kBadJson);
  expect_error(replaced(example_text(), "\"rationale\": \"A.", "rationale: \"A."), ErrorCode::kBadJson);
  std::string array_body = example_text();
  array_body = array_body.substr(0, array_body.find("<JSON_START>")) + "<JSON_START>[1, 2]<JSON_END>";
  expect_error(array_body, ErrorCode::kBadJson);
}

TEST(ParseErrors, MissingRationale) {
  expect_error(replaced(example_text(), "\"rationale\"", "\"reasoning\""), ErrorCode::kMissingRationale);
}

TEST(ParseErrors, RationaleNotAString) {
  std::string t = example_text();
  std::size_t b = t.find("\"A. ");
  std::size_t e = t.find("\", \"better_response\"");
  t.replace(b, e + 1 - b, "42");
  expect_error(t, ErrorCode::kMissingRationale);
}

TEST(ParseErrors, MissingBetterResponse) {
  expect_error(replaced(example_text(), "\"better_response\"", "\"best\""), ErrorCode::kMissingBetterResponse);
  expect_error(replaced(example_text(), "{\"response_1\": 5.20, \"response_2\": 6.00}", "\"response_2\""),
               ErrorCode::kMissingBetterResponse);
}

TEST(ParseErrors, CriteriaUnparsable) {
  expect_error(replaced(example_text(), "A. Evaluation Criteria & Weights:", "Criteria:"),
               ErrorCode::kCriteriaUnparsable);
  expect_error(replaced(example_text(), "1. brevity (40%)", "1. brevity 40%"), ErrorCode::kCriteriaUnparsable);
  expect_error(replaced(example_text(), "2. depth", "3. depth"), ErrorCode::kCriteriaUnparsable);
  expect_error(replaced(example_text(), "(40%)", "(40)"), ErrorCode::kCriteriaUnparsable);
  expect_error(replaced(example_text(), "1. brevity (40%) 2. depth (60%) ", ""), ErrorCode::kCriteriaUnparsable);
  expect_error(replaced(example_text(), "1. brevity", "1. bre:vity"), ErrorCode::kCriteriaUnparsable);
}

TEST(ParseErrors, WeightNotInteger) {
  expect_error(replaced(example_text(), "(40%)", "(40.5%)"), ErrorCode::kWeightNotInteger);
  expect_error(replaced(example_text(), "(40%)", "(high%)"), ErrorCode::kWeightNotInteger);
}

TEST(ParseErrors, WeightOutOfRange) {
  expect_error(replaced(example_text(), "(40%)", "(-40%)"), ErrorCode::kWeightOutOfRange);
  expect_error(replaced(example_text(), "(40%)", "(140%)"), ErrorCode::kWeightOutOfRange);
  expect_error(replaced(example_text(), "(40%)", "(99999999999999%)"), ErrorCode::kWeightOutOfRange);
}

TEST(ParseErrors, DuplicateCriterion) {
  expect_error(replaced(example_text(), "2. depth (60%)", "2. Brevity (60%)"), ErrorCode::kDuplicateCriterion);
  // One response scoring a criterion twice is the same defect in the breakdown.
  expect_error(replaced(example_text(), "depth 4/10", "brevity 4/10"), ErrorCode::kDuplicateCriterion);
}

TEST(ParseErrors, WeightSum) {
  expect_error(replaced(example_text(), "(60%)", "(50%)"), ErrorCode::kWeightSum);
}

TEST(ParseErrors, BreakdownUnparsable) {
  expect_error(replaced(example_text(), "B. Scoring Breakdown:", "Scores:"), ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "Final = 5.20", "Final = five"), ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "Final = 5.20", "Final = 5.20 (rounded)"), ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "depth 8/10 Final", "depth 8/5 Final"), ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "brevity 7/10", "7/10"), ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "Breakdown: Response 1:", "Breakdown: overall Response 1:"),
               ErrorCode::kBreakdownUnparsable);
  expect_error(replaced(example_text(), "Response 2: brevity 3/10 depth 8/10 Final = 6.00",
                        "Response 1: brevity 3/10 depth 8/10 Final = 6.00"),
               ErrorCode::kBreakdownUnparsable);
}

TEST(ParseErrors, UnknownResponseKey) {
  expect_error(replaced(example_text(), "\"response_2\": 6.00", "\"resp_2\": 6.00"), ErrorCode::kUnknownResponseKey);
  expect_error(replaced(example_text(), "\"response_2\": 6.00}", "\"response_2\": 6.00, \"response_3\": 1.0}"),
               ErrorCode::kUnknownResponseKey);
  expect_error(replaced(example_text(), "Response 2:", "Response 3:"), ErrorCode::kUnknownResponseKey);
  expect_error(replaced(example_text(), "Response 2:", "Response B:"), ErrorCode::kUnknownResponseKey);
  // A chain of three responses read as a chain of two.
  Chain three = example_chain();
  three.scores.push_back({5, 5});
  three.stated_totals.push_back(5.0);
  expect_error(render(three), ErrorCode::kUnknownResponseKey, 2);
}

TEST(ParseErrors, MissingResponse) {
  expect_error(replaced(example_text(), ", \"response_2\": 6.00", ""), ErrorCode::kMissingResponse);
  expect_error(replaced(example_text(), " Response 2: brevity 3/10 depth 8/10 Final = 6.00", ""),
               ErrorCode::kMissingResponse);
  expect_error(replaced(example_text(), " Final = 5.20", ""), ErrorCode::kMissingResponse);
  expect_error(replaced(example_text(), "brevity 7/10 depth 4/10 ", ""), ErrorCode::kMissingResponse);
  expect_error(replaced(example_text(), "\"response_2\": 6.00", "\"response_2\": \"6.00\""),
               ErrorCode::kMissingResponse);
  // A chain of two read as a chain of three.
  expect_error(example_text(), ErrorCode::kMissingResponse, 3);
}

TEST(ParseErrors, ScoreNotInteger) {
  expect_error(replaced(example_text(), "brevity 7/10", "brevity 7.5/10"), ErrorCode::kScoreNotInteger);
  expect_error(replaced(example_text(), "brevity 7/10", "brevity high/10"), ErrorCode::kScoreNotInteger);
}

TEST(ParseErrors, ScoreOutOfRange) {
  expect_error(replaced(example_text(), "brevity 7/10", "brevity 11/10"), ErrorCode::kScoreOutOfRange);
  expect_error(replaced(example_text(), "brevity 7/10", "brevity 0/10"), ErrorCode::kScoreOutOfRange);
  expect_error(replaced(example_text(), "brevity 7/10", "brevity -3/10"), ErrorCode::kScoreOutOfRange);
}

TEST(ParseErrors, ScoreMissing) {
  expect_error(replaced(example_text(), "depth 4/10 ", ""), ErrorCode::kScoreMissing);
  expect_error(replaced(example_text(), "depth 4/10", "clarity 4/10"), ErrorCode::kScoreMissing);
}

TEST(ParseErrors, TotalMismatch) {
  expect_error(replaced(example_text(), "\"response_1\": 5.20", "\"response_1\": 5.30"), ErrorCode::kTotalMismatch);
  expect_error(replaced(example_text(), "Final = 5.20", "Final = 5.30"), ErrorCode::kTotalMismatch);
  // Stating the total of the other response is the classic copy error.
  expect_error(replaced(example_text(), "\"response_1\": 5.20", "\"response_1\": 6.00"), ErrorCode::kTotalMismatch);
}

TEST(ParseErrors, TotalMismatchKeepsTheBreakdownForRecomputedScores) {
  const ParseResult r = parse(replaced(example_text(), "\"response_1\": 5.20", "\"response_1\": 9.99"), 2);
  ASSERT_EQ(r.error, ErrorCode::kTotalMismatch);
  EXPECT_FALSE(r.chain.has_value());
  ASSERT_TRUE(r.breakdown.has_value());
  EXPECT_FALSE(extract_scores(r).has_value());
  auto s = extract_breakdown_scores(r);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, recompute_totals(example_chain()));  // the stated 9.99 plays no part
  // Other errors leave nothing to recompute from.
  const ParseResult bad = parse(replaced(example_text(), "depth 4/10 ", ""), 2);
  EXPECT_FALSE(bad.breakdown.has_value());
  EXPECT_FALSE(extract_breakdown_scores(bad).has_value());
}

TEST(ParseErrors, WeightSumKeepsTheBreakdownOnlyForARepairedReading) {
  // example_chain() weights 40/60; make them 40/50 (sum 90).
  const ParseResult r = parse(replaced(example_text(), "(60%)", "(50%)"), 2);
  ASSERT_EQ(r.error, ErrorCode::kWeightSum);
  ASSERT_TRUE(r.breakdown.has_value());
  EXPECT_FALSE(extract_breakdown_scores(r).has_value()) << "strict reading refuses it";
  auto rep = extract_breakdown_scores(r, /*renormalise_weights=*/true);
  ASSERT_TRUE(rep.has_value());
  const Chain& c = *r.breakdown;
  for (size_t resp = 0; resp < 2; ++resp) {
    const double want = (40.0 * c.scores[resp][0] + 50.0 * c.scores[resp][1]) / 90.0;
    EXPECT_NEAR((*rep)[resp], want, 1e-12);
  }
  // A weight-sum error followed by a structural one reports the structural one.
  const ParseResult worse = parse(replaced(replaced(example_text(), "(60%)", "(50%)"), "depth 4/10 ", ""), 2);
  EXPECT_EQ(worse.error, ErrorCode::kScoreMissing);
  EXPECT_FALSE(worse.breakdown.has_value());
}

TEST(ParseErrors, EveryCodeHasADistinctStableName) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kNumErrorCodes; ++i) names.insert(error_code_name(static_cast<ErrorCode>(i)));
  EXPECT_EQ(names.size(), kNumErrorCodes);
  EXPECT_EQ(error_code_name(ErrorCode::kOk), "ok");
  EXPECT_EQ(error_code_name(ErrorCode::kTotalMismatch), "total_mismatch");
  EXPECT_EQ(error_code_name(ErrorCode::kBadJson), "bad_json");
}

// --- totals ----------------------------------------------------------------------

TEST(ParseTotals, ExtractScoresRecomputesFromTheBreakdown) {
  // Stated 5.24 (within 0.05 of 5.20): accepted, but the score is 5.20.
  std::string t = replaced(example_text(), "\"response_1\": 5.20", "\"response_1\": 5.24");
  ParseResult r = parse(t, 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_DOUBLE_EQ(r.chain->stated_totals[0], 5.24);
  std::optional<std::vector<double>> s = extract_scores(r);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, (std::vector<double>{5.20, 6.00}));
  EXPECT_FALSE(extract_scores(parse("junk", 2)).has_value());
}

TEST(ParseTotals, ToleranceEdges) {
  struct Case {
    std::string stated;
    bool ok;
  };
  // Recomputed total of response 1 is 5.20.
  for (const Case& c : {Case{"5.249", true}, Case{"5.151", true}, Case{"5.25", true}, Case{"5.15", true},
                        Case{"5.251", false}, Case{"5.149", false}, Case{"5.2", true}, Case{"52e-1", true}}) {
    for (const std::string& where : {std::string("\"response_1\": "), std::string("Final = ")}) {
      std::string t = replaced(example_text(), where + "5.20", where + c.stated);
      ParseResult r = parse(t, 2);
      EXPECT_EQ(r.ok(), c.ok) << where << c.stated << ": " << r.message;
      if (!c.ok) {
        EXPECT_EQ(r.error, ErrorCode::kTotalMismatch) << where << c.stated;
      }
    }
  }
}

TEST(ParseTotals, NonFiniteStatedTotalIsAMismatch) {
  expect_error(replaced(example_text(), "Final = 5.20", "Final = nan"), ErrorCode::kTotalMismatch);
  expect_error(replaced(example_text(), "Final = 5.20", "Final = inf"), ErrorCode::kTotalMismatch);
  // JSON has no infinity: nlohmann rejects an overflowing number outright.
  expect_error(replaced(example_text(), "\"response_1\": 5.20", "\"response_1\": 1e999"), ErrorCode::kBadJson);
}

TEST(ParseTotals, RecomputeTotalsIsTheWeightedMean) {
  Chain c = example_chain();
  EXPECT_EQ(recompute_totals(c), (std::vector<double>{5.20, 6.00}));
  c.scores[0].pop_back();
  EXPECT_THROW(recompute_totals(c), Error);
}

// --- round trip and leniency ----------------------------------------------------

TEST(ParseRoundTrip, RenderThenParseIsIdentity) {
  std::mt19937_64 rng(20240601);
  int n_checked = 0;
  for (std::size_t b : {2u, 3u, 4u}) {
    for (int i = 0; i < 300; ++i) {
      Chain c = testing::random_chain(rng, b);
      std::string text = render(c);
      ParseResult r = parse(text, b);
      ASSERT_TRUE(r.ok()) << error_code_name(r.error) << ": " << r.message << "\n" << text;
      ASSERT_EQ(*r.chain, c) << text;
      ASSERT_EQ(render(*r.chain), text);
      ++n_checked;
    }
  }
  EXPECT_EQ(n_checked, 900);
}

TEST(ParseRoundTrip, CriterionNamesCollapseWhitespaceAndMatchCaseInsensitively) {
  std::string t = replaced(example_text(), "1. brevity (40%)", "1. Brevity  of\\n answers (40%)");
  t = replaced(t, "Response 1: brevity 7/10", "Response 1: brevity OF answers 7/10");
  t = replaced(t, "Response 2: brevity 3/10", "Response 2: BREVITY of answers 3/10");
  ParseResult r = parse(t, 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.chain->criteria[0].name, "Brevity of answers");
  EXPECT_EQ(r.chain->scores, example_chain().scores);
}

TEST(ParseRoundTrip, ScoresInAnyOrderAndResponsesInAnyOrder) {
  std::string t = replaced(example_text(), "brevity 7/10 depth 4/10", "depth 4/10 brevity 7/10");
  std::string r1 = "Response 1: depth 4/10 brevity 7/10 Final = 5.20";
  std::string r2 = "Response 2: brevity 3/10 depth 8/10 Final = 6.00";
  t = replaced(t, r1 + " " + r2, r2 + " " + r1);
  ParseResult r = parse(t, 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(*r.chain, example_chain());
}

TEST(ParseLenient, ExtraWhitespaceNewlinesAndCrlf) {
  const std::string t =
      "\n\n  PART 1:  Preference   Modeling\r\n\r\n"
      "Persona:   Busy engineer who likes short answers.  \r\n"
      "  Scenario:\tWriting a work email.\r\n\r\n"
      "Criteria  derivation:\r\nBrevity matters most at work; depth matters for correctness.\r\n"
      "PART 2:  Final Scoring   Scheme\r\n\r\n"
      "<JSON_START>\r\n{ \"rationale\" : \"  A.  Evaluation Criteria &  Weights:\\n1.  brevity  ( 40 % )\\n"
      "2. depth (60%)\\nB. Scoring   Breakdown:\\nResponse 1:\\n  brevity   7/10\\n  depth 4/10\\n"
      "  Final =  5.2\\nResponse  2 : brevity 3/10, depth 8/10, Final = 6.\\n\",\r\n"
      "  \"better_response\" : { \"response_1\" : 5.2 , \"response_2\" : 6 }\r\n}\r\n<JSON_END>\r\n\r\n";
  ParseResult r = parse(t, 2);
  ASSERT_TRUE(r.ok()) << error_code_name(r.error) << ": " << r.message;
  EXPECT_EQ(*r.chain, example_chain());
}

TEST(ParseLenient, CrlfVersionOfEveryRandomChain) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    Chain c = testing::random_chain(rng, 2);
    std::string text = render(c);
    std::string crlf;
    for (char ch : text) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    ParseResult r = parse(crlf, 2);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(*r.chain, c);
  }
}

TEST(ParseLenient, MultiLineFieldsKeepTheirLines) {
  std::string t = replaced(example_text(), "Busy engineer who likes short answers.", "Busy engineer.\nLikes short answers.");
  ParseResult r = parse(t, 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.chain->persona, "Busy engineer.\nLikes short answers.");
}

// --- counters -----------------------------------------------------------------------

TEST(ErrorCounts, CountsMergeAndExportAsMetrics) {
  ErrorCounts a;
  a.add(parse(example_text(), 2));
  a.add(parse("junk", 2));
  a.add(parse(replaced(example_text(), "(60%)", "(50%)"), 2));
  ErrorCounts b;
  b.add(ErrorCode::kWeightSum);
  a += b;
  EXPECT_EQ(a.total(), 4);
  EXPECT_EQ(a.errors(), 3);
  EXPECT_EQ(a.count(ErrorCode::kOk), 1);
  EXPECT_EQ(a.count(ErrorCode::kWeightSum), 2);
  EXPECT_EQ(a.count(ErrorCode::kMissingJsonMarkers), 1);
  std::map<std::string, double> m = a.to_metrics();
  EXPECT_EQ(m.at("parse/total"), 4.0);
  EXPECT_EQ(m.at("parse/weight_sum"), 2.0);
  EXPECT_EQ(m.at("parse/bad_json"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("parse/error_rate"), 0.75);
  EXPECT_EQ(m.size(), kNumErrorCodes + 3);
}

}  // namespace
}  // namespace pgenrm::chain
