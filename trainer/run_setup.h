// What `pgenrm train` and `pgenrm eval` share about a run's data: the world
// generated or reused, the dataset, tokenizer, teacher chains, posterior and
// the reward-model task, the training pairs and the evaluated test subset
// (the same pairs and seeds for every stage, baseline and scorer).
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
  data::World world;
  std::unique_ptr<model::Tokenizer> tok;
  std::vector<data::TeacherRecord> teacher;
  std::unique_ptr<data::Posterior> posterior;
  std::unique_ptr<RmTask> task;
  std::vector<size_t> train, test_eval;  // test_eval: the evaluated subset
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
// Generates PersonaWorld into data.dir unless the same options made it.
void ensure_world(const core::Config& cfg);
std::unique_ptr<Setup> load_setup(const core::Config& cfg);

// eval.seeds seeds derived from run.seed.
std::vector<uint64_t> eval_seeds(const core::Config& cfg);
RmEvalOptions eval_options(const core::Config& cfg, int64_t chains, double temperature);

}  // namespace pgenrm::trainer
