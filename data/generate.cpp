// Generation and calibration of a PersonaWorld directory (see generate.h).
#include "data/generate.h"

#include <filesystem>
#include <fstream>

#include "chain/render.h"
#include "core/error.h"
#include "core/log.h"
#include "data/io.h"
#include "data/lexicon.h"
#include "data/prompt.h"
#include "data/vocab.h"

namespace pgenrm::data {

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error("cannot write '" + path + "'", "check that the folder is writable");
}

// Every word the world can show: the full lexicon (so a small world still
// covers it), every prompt of every pair, and a chain for every pair (a
// first draw: same templates as the kept chains).
struct WorldText {
  VocabBuilder vocab;
  void add(const std::string& text) { vocab.add_text(text); }
};

WorldText world_text(const Dataset& ds, const Teacher& teacher, const HistoryOptions& hopts,
                     uint64_t seed) {
  WorldText wt;
  VocabBuilder& v = wt.vocab;
  for (const auto& c : criteria_lexicon()) {
    v.add_word(c.name), v.add_word(c.adjective), v.add_word(c.reason);
    for (auto word : c.levels) v.add_word(word);
  }
  for (const auto& s : scenario_lexicon()) {
    v.add_word(s.name), v.add_word(s.phrase);
    for (auto q : s.queries) v.add_word(q);
  }
  for (const Pair& p : ds.pairs) {
    const User& u = ds.user_of(p);
    const History h = sample_history(ds, p, hopts, seed);
    const auto order = response_order(seed, p.pair_id);
    wt.add(render_prompt(PromptKind::kPsi, u, h, p, order));
    wt.add(render_prompt(PromptKind::kCre, u, h, p, order));
    wt.add(chain::render(teacher.draw(p, u, h, order, teacher_stream(seed, p.pair_id, 0)).chain));
  }
  for (const User& u : ds.users) v.add_text(u.system_string);
  return wt;
}

void write_calibration(const Calibration& cal, const std::string& dir) {
  write_text(dir + "/calibration.json", calibration_json(cal));
  write_text(dir + "/calibration.md", calibration_markdown(cal));
}

}  // namespace

HistoryOptions history_options(const core::DataOptions& d) {
  return HistoryOptions{.h = d.history,
                        .include_val = d.history_include_val,
                        .prefer_same_scenario = d.history_same_scenario};
}

TeacherOptions teacher_options(const core::DataOptions& d) {
  return TeacherOptions{.temperature = d.teacher_temperature,
                        .max_draws = d.teacher_max_draws,
                        .max_criteria = d.teacher_max_criteria,
                        .weight_step = d.teacher_weight_step,
                        .criterion_order = d.teacher_criterion_order};
}

Calibration generate_dir(const core::WorldOptions& wopts, const core::DataOptions& dopts,
                         const std::string& dir) {
  std::filesystem::create_directories(dir);
  const GeneratedWorld g = generate_world(wopts);
  const uint64_t seed = static_cast<uint64_t>(wopts.seed);
  const Posterior post(g.world, dopts.posterior_particles);
  const Teacher teacher(g.world, post, teacher_options(dopts));
  const HistoryOptions hopts = history_options(dopts);

  const TeacherRun run = run_teacher(g.world, g.dataset, teacher, hopts, seed);
  // world.json first: a directory with pairs.jsonl and no world.json is a
  // real dataset (trainer/run_setup.h), never a half-written world.
  write_world_json(dir + "/world.json", g.world, g.dataset.users);
  write_pairs_jsonl(dir + "/pairs.jsonl", g.dataset.pairs);
  write_survey_jsonl(dir + "/survey.jsonl", g.dataset.users);
  write_teacher_jsonl(dir + "/teacher.jsonl", run.records);
  const WorldText wt = world_text(g.dataset, teacher, hopts, seed);
  wt.vocab.write(dir + "/tokenizer.json");
  PGENRM_LOG_INFO("PersonaWorld: ", g.dataset.users.size(), " users, ", g.dataset.pairs.size(),
                  " pairs, ", run.records.size(), " teacher chains written to ", dir);

  const Calibration cal = calibrate(g.world, g.dataset, post, teacher, hopts, seed);
  write_calibration(cal, dir);
  return cal;
}

Calibration calibrate_dir(const core::DataOptions& dopts, const std::string& dir) {
  Dataset ds = read_dataset(dir);
  const World w = read_world_json(dir + "/world.json", &ds);
  const Posterior post(w, dopts.posterior_particles);
  const Teacher teacher(w, post, teacher_options(dopts));
  const Calibration cal = calibrate(w, ds, post, teacher, history_options(dopts),
                                    static_cast<uint64_t>(w.options.seed));
  write_calibration(cal, dir);
  return cal;
}

}  // namespace pgenrm::data
