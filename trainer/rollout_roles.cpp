#include "trainer/rollout_roles.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "comm/weight_sync.h"
#include "comm/world.h"
#include "coordinator/client.h"
#include "core/error.h"
#include "core/log.h"
#include "model/factory.h"
#include "model/generate.h"
#include "model/hf_io.h"
#include "rollout/weights.h"
#include "rollout/worker.h"
#include "trainer/grpo_rewards.h"
#include "trainer/rollout_link.h"
#include "trainer/run_setup.h"

namespace pgenrm::trainer {

namespace fs = std::filesystem;
using nlohmann::json;

rollout::Result serve_request(const Setup& s, const core::Config& cfg, model::TransformerImpl& m,
                              const rollout::Request& q) {
  PGENRM_CHECK(static_cast<size_t>(q.pair) < s.ds.pairs.size(),
               "rollout request for pair " + std::to_string(q.pair) + " but this worker's data holds " +
                   std::to_string(s.ds.pairs.size()) + " pairs",
               "point the worker at the learners' data.dir");
  const RmPrompt p = s.task->prompt(static_cast<size_t>(q.pair),
                                    q.prompt == "psi" ? data::PromptKind::kPsi : data::PromptKind::kCre, q.prompt_seed);
  PGENRM_CHECK(rollout::hash_ids(p.ids) == q.prompt_hash,
               "the prompt this worker built for pair " + std::to_string(q.pair) + " differs from the learners'",
               "run the worker with the learners' config and data.dir (`pgenrm rollout --config <same file>`)");
  model::SampleParams sp;
  sp.temperature = q.temperature;
  sp.top_p = q.top_p;
  sp.top_k = q.top_k;
  sp.max_new_tokens = q.max_new_tokens;
  sp.stop_ids = q.stop_ids;
  sp.pad_id = q.pad_id;
  sp.seed = q.seed;
  sp.step = q.step;
  apply_score_decoding(cfg, *s.task, &sp);
  m.eval();
  const model::Generation gen = model::generate(m, {p.ids}, q.group, sp, q.index * q.group);
  std::vector<std::vector<double>> totals;
  const RewardKnobs k{q.stage == "curriculum", cfg.grpo.alpha, cfg.grpo.beta, cfg.grpo.pr_target == "truth"};
  const std::vector<ChainReward> rw = chain_rewards(s, k, p, q.prompt_seed, gen.tokens, &totals);
  rollout::Result r;
  r.index = q.index;
  r.prompt_tokens = gen.prompt_tokens;
  r.generated_tokens = gen.generated_tokens;
  for (size_t i = 0; i < gen.tokens.size(); ++i) {
    rollout::ChainOut c;
    c.tokens = gen.tokens[i];
    c.logprobs = gen.logprobs[i];
    c.reward = rw[i].reward;
    c.outcome = rw[i].outcome;
    c.process = rw[i].process;
    c.format_error = rw[i].format_error;
    c.totals = totals[i];
    r.chains.push_back(std::move(c));
  }
  return r;
}

namespace {

// The reward model's structure as the pipeline builds it (LoRA included
// when `with_lora`), so MPI weight sync sees the same parameter list.
model::Transformer worker_model(const core::Config& cfg, int64_t vocab, bool with_lora) {
  core::ModelOptions o = cfg.model;
  o.lora_rank = 0;
  model::Transformer m = model::build_model(o, vocab);
  if (with_lora && cfg.model.lora_rank > 0)
    m->enable_lora(cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.lora_targets);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  return m;
}

void setup_process(const core::Config& cfg) {
  at::set_num_threads(cfg.run.threads > 0 ? static_cast<int>(cfg.run.threads) : at::get_num_threads());
  at::globalContext().setDeterministicAlgorithms(cfg.run.deterministic, /*warn_only=*/true);
}

void log_stats(const std::string& who, const rollout::WorkerStats& st) {
  PGENRM_LOG_INFO(who, ": ", st.items, " items in ", st.leases, " leases, ", st.weight_updates,
                  " weight updates, busy ", st.busy_s, " s of ", st.wall_s, " s");
}

}  // namespace

int run_rollout_rank(const core::Config& cfg, comm::World& world) {
  setup_process(cfg);
  auto s = load_setup(cfg);
  const CoordinatorEndpoint ep = RolloutLink::share_endpoint(&world, {});
  model::Transformer m = worker_model(cfg, s->tok->vocab_size(), /*with_lora=*/true);
  std::vector<at::Tensor> params = m->parameters();
  comm::WeightSync ws(world.weight_sync(), 0);
  coordinator::ClientOptions co;
  co.host = ep.host;
  co.port = static_cast<uint16_t>(ep.port);
  co.token = ep.token;
  co.worker = "rank-" + std::to_string(world.rank());
  co.timeout_s = 60;
  coordinator::Client client(co);
  rollout::WorkerHooks hooks;
  hooks.update_weights = [&](const rollout::Notice& n) {
    // One broadcast per version learner 0 publishes, in order.
    while (ws.version() < n.version) ws.sync(params, -1);
    return ws.version();
  };
  hooks.run = [&](const rollout::Request& q, int64_t) { return serve_request(*s, cfg, *m, q); };
  rollout::WorkerOptions wo;
  wo.max_items = static_cast<int>(cfg.dist.items_per_lease);
  PGENRM_LOG_INFO("rollout rank ", world.rank(), " serving the coordinator at ", ep.address());
  log_stats("rollout rank " + std::to_string(world.rank()), rollout::run_worker(client, hooks, wo));
  return 0;
}

int run_external_worker(const core::Config& cfg, const ExternalWorker& w) {
  setup_process(cfg);
  CoordinatorEndpoint ep;
  ep.token = w.token;
  if (!w.coordinator.empty()) std::tie(ep.host, ep.port) = split_host_port(w.coordinator);
  if (!w.run_dir.empty() && (ep.host.empty() || ep.token.empty())) {
    // The learners write coordinator.json once the job's data is ready.
    const std::string f = w.run_dir + "/coordinator.json";
    const auto t0 = std::chrono::steady_clock::now();
    while (!fs::exists(f)) {
      PGENRM_CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(w.wait_s),
                   f + " did not appear within " + std::to_string(w.wait_s) + " s",
                   "start the training job (it writes the file), or pass --coordinator HOST:PORT --token T");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    json j;
    try {
      std::ifstream(f) >> j;
    } catch (const std::exception& e) {
      throw Error(f + " is not valid JSON: " + e.what(), "the training job writes it; do not edit it");
    }
    if (ep.host.empty()) {
      ep.host = j.value("host", "");
      ep.port = j.value("port", 0);
    }
    if (ep.token.empty()) ep.token = j.value("token", "");
  }
  if (ep.token.empty() && std::getenv("PGENRM_COORDINATOR_TOKEN")) ep.token = std::getenv("PGENRM_COORDINATOR_TOKEN");
  PGENRM_CHECK(!ep.host.empty() && ep.port > 0 && ep.port < 65536, "no coordinator address",
               "pass --coordinator HOST:PORT or --run-dir of the training run");
  PGENRM_CHECK(!ep.token.empty(), "no coordinator token",
               "pass --token, set PGENRM_COORDINATOR_TOKEN, or --run-dir of the training run");

  // The data and the model are loaded at the first notice: by then the
  // learners have written the data directory (a worker may start first).
  std::unique_ptr<Setup> s;
  model::Transformer m{nullptr};
  auto ensure_loaded = [&] {
    if (s) return;
    s = load_setup(cfg);
    m = worker_model(cfg, s->tok->vocab_size(), /*with_lora=*/false);
  };
  coordinator::ClientOptions co;
  co.host = ep.host;
  co.port = static_cast<uint16_t>(ep.port);
  co.token = ep.token;
  if (w.name.empty()) {
    char host[256] = {0};
    ::gethostname(host, sizeof(host) - 1);
    co.worker = std::string(host) + ":" + std::to_string(::getpid());
  } else {
    co.worker = w.name;
  }
  co.timeout_s = 60;
  coordinator::Client client(co);
  rollout::WorkerHooks hooks;
  int64_t held = -1;
  hooks.update_weights = [&](const rollout::Notice& n) {
    PGENRM_CHECK(!n.file.empty(), "the learners publish no weight files for workers outside MPI",
                 "set dist.external_rollouts: true in the training config");
    ensure_loaded();
    model::load_state(*m, rollout::load_weights_file(n.file, n.version, n.checksum), n.file);
    held = n.version;
    return held;
  };
  hooks.run = [&](const rollout::Request& q, int64_t) {
    ensure_loaded();
    return serve_request(*s, cfg, *m, q);
  };
  rollout::WorkerOptions wo;
  wo.max_items = static_cast<int>(cfg.dist.items_per_lease);
  wo.die_after_items = w.die_after_items;
  PGENRM_LOG_INFO("rollout worker ", co.worker, " serving the coordinator at ", ep.address());
  log_stats("rollout worker " + co.worker, rollout::run_worker(client, hooks, wo));
  return 0;
}

}  // namespace pgenrm::trainer
