// PersonalRewardBench (HF MichaelR207/prism_personalized_0125 and
// chatbot_arena_personalized_0125, exported to JSON lines; schema in
// ../shared/DATASETS.md): one row per preference pair of one user.
//
// Rows become Pairs with the row's split ("validation" = val); a user's
// train + val rows are their history, test rows are evaluated. For every
// test pair, LoadOptions::history (h = 3) history pairs are sampled with
// data::sample_history — seeded by (LoadOptions::seed, pair id), so the
// benchmark and the trainer draw the same ones; a user without train/val
// rows gets an empty history (counted). `flip` is SynthesizeMe's
// position-bias control: it never swaps the label (chosen stays the user's
// preference); it fixes the presentation order — PrbTestItem::order is
// {1, 0} (rejected shown first) when flip is true. The LLM-judge columns
// (personalizable_*, prediction_*, reasoning_*, agreement) are ignored.
//
// A conversation_id repeats for every pair of a turn: repeats are numbered
// "id#2", "id#3" (as data::read_pairs_jsonl does). A row equal to an earlier
// one in user, conversation, context, chosen and rejected is a duplicate_id.
// A path whose file name holds "survey" is read as a PRISM survey.jsonl
// (stated criteria and system string of the PRISM users).
//
// Not here: PRISM raw (data/prism.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/real.h"

namespace pgenrm::data {

struct PrbTestItem {
  std::string pair_id;
  std::vector<std::string> history;  // pair ids, in the order a prompt shows them
  std::vector<int> order = {0, 1};   // presentation: order[k] = 0 chosen / 1 rejected
};

struct PrbData {
  RealData data;
  std::vector<PrbTestItem> test;  // one per test pair, in file order
};

// A directory expands to its *.jsonl files (sorted by name); files as given.
// (Chatbot Arena's loader expands its paths the same way.)
std::vector<std::string> prb_files(const std::vector<std::string>& paths);

PrbData load_prb(const std::vector<std::string>& files, const LoadOptions& opts);
// In-memory rows named "prb.jsonl" (tests, fuzz targets); `survey` as PRISM's.
PrbData load_prb_text(std::string_view rows, const LoadOptions& opts, std::string_view survey = {});

}  // namespace pgenrm::data
