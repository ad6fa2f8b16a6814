// What every real-data loader (PRISM, PersonalRewardBench, Chatbot Arena,
// LaMP-QA) shares: its options, the report of what it read, kept, filtered
// and skipped, and the result type. The loaders produce the same Dataset of
// Users and Pairs that PersonaWorld does (data/types.h), so histories,
// prompts, splits and scorers work on them unchanged.
//
// Two kinds of rows that do not become pairs, kept apart on purpose:
//   - filtered: the paper's preprocessing drops it by design (a PRISM pair
//     whose score gap is under 10, an Arena tie, an unscored response).
//     Counted by reason; never an error, not even under --strict.
//   - skipped: the row is bad (not JSON, a missing field, a wrong type, a
//     value out of range, a duplicate id). Recorded with file:line and the
//     reason; with `strict` the first one throws pgenrm::Error instead.
// A loader never asserts and never lets one bad row end a job (unless
// strict); nothing vanishes without a count.
//
// Not here: the per-format readers (data/prism.h, data/prb.h, data/arena.h,
// data/lampqa.h), writing a converted directory (data/convert.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/types.h"

namespace pgenrm::data {

struct LoadOptions {
  bool strict = false;          // any bad row is fatal (pgenrm::Error)
  double min_score_gap = 10.0;  // PRISM: pairs with |score gap| below this are dropped (1–100)
  uint64_t seed = 1234;         // split assignment (PRISM, Arena) and history sampling (PRB)
  int64_t history = 3;          // PRB: h history pairs sampled per test pair
  // PRISM / Arena carry no split: each user's conversations are shuffled
  // (seeded by user) and these shares of them go to test and val; a whole
  // conversation stays in one split.
  double test_share = 0.2;
  double val_share = 0.1;
};

// Why a bad row was skipped; the names appear in reports.
inline constexpr const char* kMalformedJson = "malformed_json";
inline constexpr const char* kNotObject = "not_object";
inline constexpr const char* kMissingField = "missing_field";
inline constexpr const char* kWrongType = "wrong_type";
inline constexpr const char* kBadValue = "bad_value";
inline constexpr const char* kDuplicateId = "duplicate_id";

struct SkippedRow {
  std::string file;
  int64_t line = 0;
  std::string reason;   // one of the k* names above
  std::string message;  // "file:line: what is wrong"
};

struct LoadReport {
  std::string format;              // "prism", "prb", "arena", "lampqa"
  std::vector<std::string> files;  // what was read, in order
  int64_t bytes = 0;               // total size of the files read
  int64_t rows = 0;                // non-blank lines / array elements seen
  int64_t rows_used = 0;           // rows that were not skipped
  std::vector<SkippedRow> skipped;
  std::map<std::string, int64_t> filtered;  // reason → count (by design, not errors)
  std::map<std::string, int64_t> notes;     // informational counts

  // Records a bad row; with `strict` throws pgenrm::Error(message) instead.
  void skip(const std::string& file, int64_t line, const std::string& reason,
            const std::string& what, bool strict);
  std::map<std::string, int64_t> skipped_by_reason() const;
};

// Per-pair facts of a source that the Pair type does not hold; keyed by
// pair id in RealData::extras.
struct PairExtras {
  std::map<std::string, double> choice_attributes;  // PRISM: the 7 ratings (nulls left out)
  bool flip = false;  // PRB: the benchmark shows the rejected response first
  std::string model_chosen, model_rejected;  // model names when the source gives them
  bool operator==(const PairExtras&) const = default;
};

struct RealData {
  Dataset dataset;  // indexed (build_index has run)
  LoadReport report;
  std::map<std::string, PairExtras> extras;  // pair id → extras (only pairs that have some)
};

// The split assignment described at LoadOptions::test_share: `units` are the
// (user id, conversation id) of every pair, in any order; returns, per
// distinct (user, conversation), its split. Deterministic in (seed, ids).
std::map<std::pair<std::string, std::string>, Split> assign_splits(
    const std::vector<std::pair<std::string, std::string>>& units, const LoadOptions& opts);

// Makes pair ids unique (a later repeat of an id becomes "id#2", "id#3", ...,
// its extras moving with it) and counts renames in notes; ids built from
// source fields can collide on adversarial input, and build_index throws on
// duplicates.
void unique_pair_ids(RealData& data);

// Counts of a loaded dataset, for `pgenrm data stats`.
struct DatasetStats {
  int64_t users = 0, users_with_pairs = 0, users_with_criteria = 0, cold_start_users = 0;
  int64_t pairs = 0;
  int64_t pairs_by_split[3] = {0, 0, 0};
  int64_t min_pairs_per_user = 0, max_pairs_per_user = 0;
  double mean_pairs_per_user = 0, median_pairs_per_user = 0;  // over users with pairs
};
DatasetStats dataset_stats(const Dataset& ds);

// The human-readable report of `pgenrm data stats|validate` (Markdown-ish):
// counts, pairs per user, filtered by reason, skipped by reason with up to
// `max_lines_per_reason` file:line messages each.
std::string format_report(const RealData& data, int64_t max_lines_per_reason = 10);

}  // namespace pgenrm::data
