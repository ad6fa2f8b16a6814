// LaMP-QA (HF alireza7/LaMP-QA; ../shared/DATASETS.md): personalised
// questions of three categories, saved as JSON arrays (JSON lines also
// read), and the paper's out-of-distribution evaluation: rank candidate
// answers per user and report the Spearman correlation with a given
// ground-truth ranking.
//
// An item is one question of one user: question, narrative (what the user
// needs; with the rubric it is the grader's ground truth, not a model
// input), rubric aspects {aspect, evidence, reason}, profile (the user's
// past posts {category, id, text}), category. Profile posts are not
// preference pairs, so LaMP-QA does not become a Dataset of pairs; a reward
// model scores candidate answers through a LampQaScorer.
//
// Candidates file (JSON lines, ours): {"id": item id, "candidates":
// [{"name": "gen1", "answer": "...", "rank": 1, "score": 0.7}, ...]} with
// rank 1 = best in the ground truth; "score" (optional) is a model's score,
// used by the "given" scorer.
//
// Not here: the reward model that scores answers (scaling/, trainer/).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/real.h"

namespace pgenrm::data {

struct RubricAspect {
  std::string aspect, evidence, reason;
  bool operator==(const RubricAspect&) const = default;
};
struct ProfilePost {
  std::string category, id, text;
  bool operator==(const ProfilePost&) const = default;
};
struct LampQaItem {
  std::string id, category, question, narrative;
  std::vector<RubricAspect> rubric;
  std::vector<ProfilePost> profile;
  bool operator==(const LampQaItem&) const = default;
};

struct LampQaData {
  std::vector<LampQaItem> items;
  LoadReport report;  // report.format = "lampqa"
};

// Files or directories (their *.json and *.jsonl, sorted). An item without
// a category takes the file's stem (e.g. "Lifestyle_and_Personal_Development").
LampQaData load_lampqa(const std::vector<std::string>& paths, const LoadOptions& opts);
LampQaData load_lampqa_text(std::string_view text, const LoadOptions& opts,
                            const std::string& name = "lampqa.json");

// Counts for `pgenrm data stats --format lampqa`: items by category, mean
// profile posts and rubric aspects, skipped rows by reason with file:line.
std::string format_lampqa_report(const LampQaData& data, int64_t max_lines_per_reason = 10);

struct LampQaCandidate {
  std::string name, answer;
  double truth_rank = 0;         // 1 = best
  std::optional<double> score;   // a model's score, if the file has one
};
struct LampQaCandidates {
  std::string item_id;
  std::vector<LampQaCandidate> candidates;
};
// Bad rows into `report` (or thrown, if strict), like the loaders.
std::vector<LampQaCandidates> load_lampqa_candidates_text(std::string_view text, const std::string& name,
                                                          LoadReport& report, bool strict);
std::vector<LampQaCandidates> load_lampqa_candidates(const std::string& path, LoadReport& report,
                                                     bool strict);

// Higher = better for this user.
using LampQaScorer = std::function<double(const LampQaItem&, const std::string& answer)>;
// A reference scorer with no model: the share of the rubric aspects' words
// (4+ letters, case-folded) that the answer contains.
double rubric_coverage(const LampQaItem& item, const std::string& answer);

// Spearman's rho with average ranks for ties; nullopt when either side is
// constant or has fewer than 2 values.
std::optional<double> spearman(const std::vector<double>& a, const std::vector<double>& b);

struct LampQaEval {
  int64_t items = 0;             // candidate rows seen
  int64_t evaluated = 0;         // rows with a defined rho
  int64_t unknown_item = 0;      // rows whose id is not a loaded item
  int64_t undefined = 0;         // < 2 candidates, or constant scores / ranks
  double mean_rho = 0;           // over evaluated rows
  std::map<std::string, std::pair<double, int64_t>> by_category;  // mean rho, count
  std::vector<std::pair<std::string, double>> per_item;           // item id, rho
};
// rho per row = spearman(model scores, −truth rank): 1 when the model orders
// the candidates as the ground truth does.
LampQaEval evaluate_lampqa(const std::vector<LampQaItem>& items,
                           const std::vector<LampQaCandidates>& candidates, const LampQaScorer& scorer);

}  // namespace pgenrm::data
