#include "trainer/run_checkpoint.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "checkpoint/torch_state.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop.h"
#include "trainer/learner.h"

#ifndef PGENRM_CODE_VERSION
#define PGENRM_CODE_VERSION "unknown"
#endif

namespace pgenrm::trainer {

using nlohmann::json;

const std::vector<std::string>& run_stages() {
  static const std::vector<std::string> s = {"stage0", "bt_non_personalised", "bt_history", "psi",
                                             "cre",    "curriculum",          "final",      "done"};
  return s;
}

int64_t stage_index(const std::string& stage) {
  const auto& s = run_stages();
  auto it = std::find(s.begin(), s.end(), stage);
  PGENRM_CHECK(it != s.end(), "unknown run stage '" + stage + "'",
               "the checkpoint was written by a different pgenrm version");
  return it - s.begin();
}

namespace {

// The resolved config as "section.key" → "value" (dump_config's YAML, one
// key per line, comments dropped).
std::map<std::string, std::string> flatten(const std::string& yaml) {
  std::map<std::string, std::string> out;
  std::istringstream in(yaml);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (line[0] != ' ') {
      section = line.substr(0, colon);
      continue;
    }
    const size_t b = line.find_first_not_of(' ');
    std::string value = line.substr(colon + 1);
    const size_t hash = value.find("  #");
    if (hash != std::string::npos) value = value.substr(0, hash);
    out[section + "." + line.substr(b, colon - b)] = value;
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Refuses a config whose shapes or data differ from the checkpoint's; warns
// about any other difference (the resumed run then differs from an
// uninterrupted one, which may be what the user wants, e.g. more steps).
void check_compatible(const std::string& saved_yaml, const core::Config& cfg, const std::string& path) {
  if (saved_yaml.empty()) return;
  const auto a = flatten(saved_yaml), b = flatten(core::dump_config(cfg));
  std::vector<std::string> warn;
  for (const auto& [key, value] : b) {
    auto it = a.find(key);
    if (it == a.end() || it->second == value) continue;
    if (starts_with(key, "log.") || starts_with(key, "checkpoint.") || key == "run.threads" || key == "dist.watchdog_s" ||
        key == "run.name" || key == "run.out_dir")
      continue;
    if (starts_with(key, "model.") || starts_with(key, "world.") || starts_with(key, "data."))
      throw Error("cannot resume from " + path + ": config field " + key + " is" + value + " here but" +
                      it->second + " in the checkpoint",
                  "resume with the config the run started with (its resolved copy is in the run "
                  "directory's config.yaml), or start a new run (--resume none)");
    warn.push_back(key + ":" + it->second + " →" + value);
  }
  for (const auto& w : warn)
    PGENRM_LOG_WARN("resume: config differs from the checkpoint's (", w,
                    "); the run will not match an uninterrupted one");
}

}  // namespace

RunCheckpointer::RunCheckpointer(const core::Config& cfg, const std::string& run_dir, const std::string& resume,
                                 const DataParallel& dp)
    : cfg_(cfg), dp_(dp), dir_(cfg.checkpoint.dir.empty() ? run_dir + "/checkpoints" : cfg.checkpoint.dir) {
  if (resume.empty() || resume == "none") return;
  const std::string where = resume == "auto" ? dir_ : resume;
  if (resume == "auto" || std::filesystem::is_directory(where)) {
    // The newest sound checkpoint; a damaged newer one is reported (as a
    // warning, by load_latest) and passed over.
    std::optional<checkpoint::Resumed> r = checkpoint::load_latest(where);
    if (!r) {
      PGENRM_CHECK(resume == "auto", "--resume " + resume + ": no sound checkpoint in that directory",
                   "pass --resume auto to start fresh when there is none, or another directory");
      PGENRM_LOG_INFO("resume: no checkpoint in ", dir_, "; starting fresh");
      return;
    }
    resumed_path_ = r->path;
    resumed_ = std::move(r->state);
  } else {
    const std::optional<std::string> path = checkpoint::resolve_resume(resume, dir_);
    resumed_path_ = *path;
    resumed_ = checkpoint::load_checkpoint(*path);
  }
  const std::string* path = &resumed_path_;
  check_compatible(resumed_->config_yaml, cfg, *path);
  stage_index(resumed_->stage);  // refuses an unknown stage
  global_step_ = resumed_->step;
  auto it = resumed_->data_streams.find("rows");
  if (it != resumed_->data_streams.end()) rows_ = json::parse(it->second);
  PGENRM_LOG_INFO("resume: ", *path, " — stage ", resumed_->stage, ", step ", stage_step(), " of the stage (",
                  global_step_, " in the run), ", rows_.size(), " result rows kept");
}

StagePos RunCheckpointer::position(const std::string& stage) const {
  if (!resumed_) return StagePos::kAhead;
  const int64_t a = stage_index(stage), b = stage_index(resumed_->stage);
  return a < b ? StagePos::kDone : a == b ? StagePos::kCurrent : StagePos::kAhead;
}

int64_t RunCheckpointer::stage_step() const {
  if (!resumed_) return 0;
  auto it = resumed_->counters.find("stage_step");
  return it == resumed_->counters.end() ? 0 : it->second;
}

bool RunCheckpointer::trained() const {
  if (!resumed_) return false;
  auto it = resumed_->counters.find("trained");
  return it != resumed_->counters.end() && it->second != 0;
}

json RunCheckpointer::streams() const {
  if (!resumed_) return json::object();
  auto it = resumed_->data_streams.find("stage");
  return it == resumed_->data_streams.end() ? json::object() : json::parse(it->second);
}

bool RunCheckpointer::has_row(const std::string& name) const {
  for (const auto& r : rows_)
    if (r.value("row", "") == name) return true;
  return false;
}

void RunCheckpointer::restore_model(torch::nn::Module& m) const {
  PGENRM_CHECK(resumed_ && !resumed_->model.empty(), "the checkpoint " + resumed_path_ + " holds no model",
               "resume from a checkpoint written during or after the stage that trains it");
  checkpoint::restore_model(m, resumed_->model, resumed_path_);
}

bool RunCheckpointer::restore_reference(torch::nn::Module& ref) const {
  if (!resumed_) return false;
  checkpoint::TensorMap saved;
  for (const auto& [name, t] : resumed_->extra)
    if (starts_with(name, "reference.")) saved[name.substr(10)] = t;
  if (saved.empty()) return false;
  checkpoint::restore_model(ref, saved, resumed_path_ + " (KL reference)");
  return true;
}

void RunCheckpointer::restore_step(Learner& learner, const torch::nn::Module& m) const {
  PGENRM_CHECK(resumed_ && !resumed_->optim_config_json.empty(),
               "the checkpoint " + resumed_path_ + " holds no optimizer", "it was not written during a stage's training");
  // No per-parameter state is a real state: no update has happened yet
  // (e.g. GRPO steps whose groups all had zero reward variance).
  if (!resumed_->optim.empty()) {
    checkpoint::OptimizerState os{resumed_->optim, resumed_->optim_config_json};
    learner.reset_masters_from_params();
    checkpoint::restore_adamw(learner.optimizer(), learner.optimizer_targets(checkpoint::named_parameters(m)), os,
                              resumed_path_);
  }
  learner.set_steps_done(stage_step());
  // This rank's generator; a rank the checkpoint did not have (the job
  // grew) takes rank 0's.
  auto rng = resumed_->rng.find(dp_.rank());
  if (rng == resumed_->rng.end()) rng = resumed_->rng.find(0);
  if (rng != resumed_->rng.end() && rng->second.count("cpu")) checkpoint::restore_cpu_rng(rng->second.at("cpu"));
}

void RunCheckpointer::after_step(const Snapshot& s) {
  ++global_step_;
  const bool due = cfg_.checkpoint.every_steps > 0 && global_step_ % cfg_.checkpoint.every_steps == 0;
  // One flag over the ranks: a signal seen by any rank stops all at this step.
  const bool stop = dp_.any(core::stop_requested());
  if (stop && !core::stop_requested()) core::request_stop(SIGTERM);
  if (due || stop) save(s);
}

void RunCheckpointer::save(const Snapshot& s) {
  write(s);  // gathers on every rank; only rank 0 writes the file
  // The others wait: a rank leaving with 85 while rank 0 still writes would
  // make the launcher kill rank 0 mid-save.
  dp_.barrier("checkpoint save");
  const bool stop = dp_.any(core::stop_requested());
  if (stop && !core::stop_requested()) core::request_stop(SIGTERM);
  core::throw_if_stop_requested(("stage " + s.stage).c_str());
}

void RunCheckpointer::write(const Snapshot& s) {
  // Every rank's generator (they are seeded alike, but a rank that drew
  // more — e.g. a bigger shard — would differ), gathered to the writer.
  const auto rngs = dp_.all_gather_bytes(checkpoint::capture_cpu_rng());
  if (!dp_.is_root()) return;
  checkpoint::CheckpointState st;
  st.step = global_step_;
  st.stage = s.stage;
  st.counters["stage_step"] = s.stage_step;
  st.counters["trained"] = s.trained ? 1 : 0;
  st.config_yaml = core::dump_config(cfg_);
  st.code_version = PGENRM_CODE_VERSION;
  st.world_layout = "{\"learners\":" + std::to_string(dp_.size()) + ",\"rollout_workers\":0}";
  st.model_config_json = s.model_config_json;
  if (s.model) st.model = checkpoint::named_parameters(*s.model);
  if (s.reference)
    for (const auto& [name, t] : checkpoint::named_parameters(*s.reference)) st.extra["reference." + name] = t;
  if (s.learner && s.model) {
    checkpoint::OptimizerState os = checkpoint::capture_adamw(s.learner->optimizer(), s.learner->optimizer_targets(st.model));
    st.optim = std::move(os.per_param);
    st.optim_config_json = std::move(os.groups_json);
  }
  for (size_t r = 0; r < rngs.size(); ++r) st.rng[static_cast<int>(r)]["cpu"] = rngs[r];
  st.data_streams["rows"] = rows_.dump();
  st.data_streams["stage"] = s.streams ? s.streams().dump() : "{}";
  // save_checkpoint logs the file, its size and time.
  checkpoint::save_checkpoint(dir_, st, static_cast<int>(cfg_.checkpoint.keep_last));
}

}  // namespace pgenrm::trainer
