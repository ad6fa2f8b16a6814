// What `pgenrm train` and `pgenrm eval` share about a run's data: the world
// generated or reused, the dataset, tokenizer, teacher chains, posterior and
// the reward-model task, the training pairs and the evaluated test subset
// (the same pairs and seeds for every stage, baseline and scorer).
//
// Two kinds of data.dir: PersonaWorld (world.json: ground truth, posterior,
// generated teacher) and a real dataset written by `pgenrm data convert`
// (pairs.jsonl without world.json: no truth, no posterior; teacher chains
// and a tokenizer come from outside — docs/DATASETS.md).
//
// Not here: any training (trainer/pipeline.cpp) or scoring (trainer/rm_eval.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "data/personaworld.h"
#include "data/posterior.h"
#include "data/teacher.h"
#include "data/types.h"
#include "model/tokenizer.h"
#include "trainer/rm_eval.h"
#include "trainer/rm_task.h"

namespace pgenrm::trainer {

struct Setup {
  data::Dataset ds;
  bool has_world = true;  // false: a real dataset; `world` is empty and `posterior` null
  data::World world;
  std::unique_ptr<model::Tokenizer> tok;
  std::string tokenizer_path;  // the tokenizer.json loaded (copied next to saved models)
  bool has_teacher = false;    // data.dir/teacher.jsonl exists (read into `teacher`)
  std::vector<data::TeacherRecord> teacher;
  std::unique_ptr<data::Posterior> posterior;
  std::unique_ptr<RmTask> task;
  std::vector<size_t> train, test_eval;  // test_eval: the evaluated subset

  // The world's truth for evaluate_model's diagnostics; null on real data.
  const data::World* world_or_null() const { return has_world ? &world : nullptr; }
};

double seconds_since(std::chrono::steady_clock::time_point t0);
uint64_t fnv1a(const std::string& s);
std::string hex(uint64_t v);

// The resolved config's text restricted to some top-level sections: a cache
// key that options elsewhere (added or changed) do not invalidate.
std::string config_sections(const core::Config& c, const std::vector<std::string>& sections);
// The options text that decides a world (world.*, data.*): regenerate only
// when it changes.
std::string world_key(const core::Config& c);
// A real dataset's directory: pairs.jsonl and no world.json (PersonaWorld
// writes world.json before pairs.jsonl, so a half-written world is never
// taken for one).
bool is_real_data_dir(const std::string& dir);
// Generates PersonaWorld into data.dir unless the same options made it, or
// data.dir holds a real dataset (then nothing is generated).
void ensure_world(const core::Config& cfg);
// The tokenizer.json of a run: data.dir/tokenizer.json, else (real data)
// model.hf_path/tokenizer.json; an error naming both when neither exists.
std::string tokenizer_path(const core::Config& cfg);
std::unique_ptr<Setup> load_setup(const core::Config& cfg);
// What PSI (stage 1) needs: teacher chains in data.dir/teacher.jsonl whose
// pairs are training pairs of the dataset. Throws with what the file is and
// how to produce it (docs/DATASETS.md) when it is missing or refers to
// pairs the dataset lacks.
void require_teacher(const core::Config& cfg, const Setup& s);

// eval.seeds seeds derived from run.seed.
std::vector<uint64_t> eval_seeds(const core::Config& cfg);
RmEvalOptions eval_options(const core::Config& cfg, int64_t chains, double temperature);
// grpo.score_decoding on a rollout's sample parameters: with "greedy" the
// chain is decoded greedily after chain::kBreakdownHeader. Learners and
// rollout workers both call it, so they sample the same chains.
void apply_score_decoding(const core::Config& cfg, const RmTask& task, model::SampleParams* sp);

}  // namespace pgenrm::trainer
