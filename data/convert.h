// Writes a loaded real dataset as a dataset directory that
// data::read_dataset reads (so it can be data.dir):
//   pairs.jsonl        every pair (io.h's PersonalRewardBench-style rows)
//   survey.jsonl       users with stated criteria or a system string
//   pair_extras.jsonl  {pair_id, choice_attributes, flip, model_chosen,
//                      model_rejected} for pairs that have any
//   prb_test.jsonl     PersonalRewardBench only: {pair_id, history, order}
//                      per test pair (the sampled h history pairs)
//   load_report.json   what was read, filtered and skipped (file:line)
//
// Not here: the loaders (data/prism.h, prb.h, arena.h, lampqa.h).
#pragma once

#include <string>
#include <vector>

#include "data/prb.h"
#include "data/real.h"

namespace pgenrm::data {

// Creates `dir` if needed; overwrites the files above. `test` may be null.
void write_real_dir(const std::string& dir, const RealData& data,
                    const std::vector<PrbTestItem>* test = nullptr);

// pair_extras.jsonl back (tests; the trainer does not read it yet).
std::map<std::string, PairExtras> read_pair_extras(const std::string& path);

}  // namespace pgenrm::data
