#include "trainer/rollout_link.h"

#include <ATen/ATen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "comm/weight_sync.h"
#include "comm/world.h"
#include "coordinator/client.h"
#include "coordinator/server.h"
#include "core/error.h"
#include "core/log.h"
#include "core/options.h"
#include "model/hf_io.h"
#include "model/transformer.h"
#include "rollout/weights.h"
#include "trainer/data_parallel.h"

namespace pgenrm::trainer {

namespace fs = std::filesystem;
using nlohmann::json;

bool uses_rollout_workers(const core::Config& cfg, int mpi_rollout_ranks) {
  return mpi_rollout_ranks > 0 || cfg.dist.external_rollouts || !cfg.dist.coordinator.empty();
}

std::pair<std::string, int> split_host_port(const std::string& s) {
  const auto c = s.rfind(':');
  PGENRM_CHECK(c != std::string::npos && c > 0 && c + 1 < s.size(),
               "coordinator address '" + s + "' is not HOST:PORT", "e.g. dist.coordinator=node07:7070");
  int port = 0;
  try {
    port = std::stoi(s.substr(c + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  PGENRM_CHECK(port > 0 && port < 65536, "coordinator address '" + s + "' has no valid port", "use HOST:PORT");
  return {s.substr(0, c), port};
}

namespace {

std::string random_token() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 32; ++i) t += hex[rd() % 16];
  return t;
}


}  // namespace

// Learner 0's connection to the coordinator: in-process (hosted) or a
// learner-role client of a standalone one.
struct RolloutLink::Impl {
  std::unique_ptr<coordinator::Server> server;
  std::unique_ptr<coordinator::Client> client;
  std::unique_ptr<comm::WeightSync> weights;  // learner 0 ↔ MPI rollout ranks
  std::vector<at::Tensor> mpi_params;
  std::string weights_dir;                    // "" = no file publication
  bool external = false;
  double timeout_s = 600;
  uint64_t next_id = 1;
  std::map<uint64_t, rollout::Result> ready;  // results taken but not collected yet
  const DataParallel* dp = nullptr;
  uint64_t since = 0;  // results of a standalone coordinator received so far (acknowledged by the next take)
  rollout::Notice notice;
  bool stopped = false;

  template <class F>
  auto with_remote_retry(F&& f) {
    // A standalone coordinator drops a learner connection idle past its
    // idle timeout (a long update): reconnect once.
    try {
      if (!client->connected()) client->connect();
      return f(*client);
    } catch (const Error&) {
      client->connect();
      return f(*client);
    }
  }
  void set_notice(const std::string& n) {
    if (server) return server->with_scheduler([&](coordinator::Scheduler& s) { s.set_notice(n); });
    with_remote_retry([&](coordinator::Client& c) {
      c.set_notice(n);
      return 0;
    });
  }
  void submit(const std::vector<coordinator::WorkItem>& items) {
    if (server) return server->with_scheduler([&](coordinator::Scheduler& s) { s.submit(items); });
    with_remote_retry([&](coordinator::Client& c) {
      c.submit(items);
      return 0;
    });
  }
  std::vector<coordinator::ItemResult> take() {
    if (server) return server->with_scheduler([&](coordinator::Scheduler& s) { return s.take_results(); });
    return with_remote_retry([&](coordinator::Client& c) { return c.take_results(since); });
  }
  // The ledger plus each worker's items and throughput.
  std::string ledger() {
    json l, st;
    if (server) {
      server->with_scheduler([&](coordinator::Scheduler& s) {
        l = json::parse(s.ledger_summary_json());
        json ws = json::object();
        for (const auto& w : s.stats(coordinator::Clock::now()).workers)
          ws[w.worker] = {{"items", w.items_done}, {"items_per_s", w.items_per_s}, {"alive", w.alive}};
        l["workers"] = ws;
        return 0;
      });
      return l.dump();
    }
    with_remote_retry([&](coordinator::Client& c) {
      l = json::parse(c.ledger_json());
      st = json::parse(c.stats_json());
      return 0;
    });
    l.erase("type");
    json ws = json::object();
    for (const auto& w : st.at("workers"))
      ws[w.at("worker").get<std::string>()] = {{"items", w.at("items_done")}, {"items_per_s", w.at("items_per_s")},
                                               {"alive", w.at("alive")}};
    l["workers"] = ws;
    return l.dump();
  }
};

CoordinatorEndpoint RolloutLink::share_endpoint(comm::World* world, CoordinatorEndpoint ep) {
  if (!world || !world->distributed()) return ep;
  std::string text = json{{"host", ep.host}, {"port", ep.port}, {"token", ep.token}}.dump();
  at::Tensor len = at::tensor({static_cast<int64_t>(world->rank() == 0 ? text.size() : 0)}, at::kLong);
  world->world().broadcast(len, 0, "coordinator endpoint (length)");
  at::Tensor buf = at::zeros({std::max<int64_t>(len.item<int64_t>(), 1)}, at::kByte);
  if (world->rank() == 0) std::copy(text.begin(), text.end(), buf.data_ptr<uint8_t>());
  world->world().broadcast(buf, 0, "coordinator endpoint");
  text.assign(reinterpret_cast<const char*>(buf.data_ptr<uint8_t>()), static_cast<size_t>(len.item<int64_t>()));
  const json j = json::parse(text);
  return CoordinatorEndpoint{j.at("host"), j.at("port"), j.at("token")};
}

RolloutLink::RolloutLink(const core::Config& cfg, comm::World* world, const DataParallel& dp,
                         const std::string& run_dir)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.dp = &dp;
  m.timeout_s = cfg.dist.rollout_timeout_s;
  m.external = cfg.dist.external_rollouts || !cfg.dist.coordinator.empty();
  CoordinatorEndpoint ep;
  if (dp.is_root()) {
    ep.token = cfg.dist.token;
    if (ep.token.empty() && std::getenv("PGENRM_COORDINATOR_TOKEN")) ep.token = std::getenv("PGENRM_COORDINATOR_TOKEN");
    if (ep.token.empty()) ep.token = random_token();
    if (cfg.dist.coordinator.empty()) {
      coordinator::ServerOptions so;
      so.bind_address = cfg.dist.coordinator_bind;
      so.port = static_cast<uint16_t>(cfg.dist.coordinator_port);
      so.token = ep.token;
      so.idle_timeout_s = std::max(120.0, 4 * cfg.dist.heartbeat_s);
      so.scheduler.heartbeat_timeout_s = cfg.dist.heartbeat_s;
      so.scheduler.max_items_per_lease = static_cast<int>(cfg.dist.items_per_lease);
      m.server = std::make_unique<coordinator::Server>(so);
      m.server->start();
      ep.port = m.server->port();
      if (so.bind_address == "0.0.0.0" || so.bind_address == "::") {
        char host[256] = {0};
        ::gethostname(host, sizeof(host) - 1);
        ep.host = host;
      } else {
        ep.host = so.bind_address;
      }
    } else {
      auto [host, port] = split_host_port(cfg.dist.coordinator);
      ep.host = host;
      ep.port = port;
      coordinator::ClientOptions co;
      co.host = host;
      co.port = static_cast<uint16_t>(port);
      co.token = ep.token;
      co.worker = "learner-0";
      co.role = "learner";
      co.timeout_s = 60;
      m.client = std::make_unique<coordinator::Client>(co);
      m.client->connect();
    }
    if (m.external) {
      m.weights_dir = cfg.dist.weights_dir.empty() ? run_dir + "/rollout_weights" : cfg.dist.weights_dir;
      fs::create_directories(m.weights_dir);
      m.weights_dir = fs::absolute(m.weights_dir).string();
    }
    // Where external workers find the coordinator (readable by this user only: it holds the token).
    const std::string f = run_dir + "/coordinator.json";
    std::ofstream(f) << json{{"host", ep.host}, {"port", ep.port}, {"token", ep.token}}.dump() << "\n";
    ::chmod(f.c_str(), 0600);
    PGENRM_LOG_INFO("coordinator at ", ep.address(), m.server ? " (hosted by learner 0)" : " (standalone)",
                    m.external ? "; workers join with `pgenrm rollout --config <this config> --run-dir " + run_dir + "`"
                               : "");
  }
  ep_ = share_endpoint(world, ep);
  if (dp.is_root() && world && world->distributed() && world->n_rollouts() > 0)
    m.weights = std::make_unique<comm::WeightSync>(world->weight_sync(), 0);
}

RolloutLink::~RolloutLink() {
  try {
    stop();
  } catch (const std::exception& e) {
    PGENRM_LOG_WARN("rollout workers were not told to stop: ", e.what());
  }
}

void RolloutLink::stop() {
  Impl& m = *impl_;
  if (m.stopped || (!m.server && !m.client)) return;
  m.stopped = true;
  m.notice.stop = true;
  m.set_notice(rollout::to_json(m.notice));
  if (m.server) {
    // Give the workers a moment to read the notice before the service goes.
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
      const auto st = m.server->with_scheduler(
          [](coordinator::Scheduler& s) { return s.stats(coordinator::Clock::now()); });
      bool any = false;
      for (const auto& w : st.workers) any |= w.alive;
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

int64_t RolloutLink::publish(model::TransformerImpl& model) {
  Impl& m = *impl_;
  ++version_;
  if (!m.server && !m.client) return version_;  // not learner 0
  rollout::Notice n;
  n.version = version_;
  if (!m.weights_dir.empty()) {
    const rollout::Published p = rollout::publish_weights_file(m.weights_dir, version_, model::hf_state(model));
    n.file = p.file;
    n.checksum = p.checksum;
  }
  m.notice = n;
  m.set_notice(rollout::to_json(n));
  // The MPI rollout ranks enter this broadcast when their next lease shows
  // the new version (within one lease's generation time).
  if (m.weights) m.weights->sync(model.parameters(), version_);
  return version_;
}

std::vector<uint64_t> RolloutLink::submit(const std::vector<rollout::Request>& reqs,
                                          const std::vector<std::string>& users) {
  Impl& m = *impl_;
  std::vector<uint64_t> ids;
  std::vector<coordinator::WorkItem> items;
  for (size_t i = 0; i < reqs.size(); ++i) {
    ids.push_back(m.next_id++);
    items.push_back({ids.back(), users.at(i), rollout::to_json(reqs[i])});
  }
  if (m.server || m.client) m.submit(items);
  return ids;
}

std::vector<rollout::Result> RolloutLink::collect(const std::vector<uint64_t>& ids, int64_t group) {
  Impl& m = *impl_;
  std::string all;  // learner 0 → every learner
  if (m.server || m.client) {
    auto last = std::chrono::steady_clock::now();
    auto complete = [&] {
      for (uint64_t id : ids)
        if (!m.ready.count(id)) return false;
      return true;
    };
    auto last_beat = std::chrono::steady_clock::now();
    while (!complete()) {
      // The other learners wait in a broadcast: tell them every second that
      // learner 0 is alive and still waiting, so their hang watchdog
      // (dist.watchdog_s) fires only if learner 0 itself hangs or dies.
      if (std::chrono::steady_clock::now() - last_beat > std::chrono::seconds(1)) {
        std::string wait_msg = "wait";
        m.dp->broadcast_string(wait_msg, "rollout results (learner 0 waiting for workers)");
        last_beat = std::chrono::steady_clock::now();
      }
      const auto got = m.take();
      for (const auto& r : got) {
        rollout::Result res = rollout::result_from_json(r.result, group);
        PGENRM_CHECK(res.error.empty(),
                     "rollout worker " + r.worker + " could not serve item " + std::to_string(r.item) + ": " + res.error,
                     "workers must run the same build, config and data directory as the learners");
        res.worker = r.worker;
        m.ready.emplace(r.item, std::move(res));
      }
      if (!got.empty()) {
        last = std::chrono::steady_clock::now();
        continue;
      }
      const double idle = std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count();
      PGENRM_CHECK(idle < m.timeout_s,
                   "no rollout result for " + std::to_string(static_cast<int>(idle)) + " s (dist.rollout_timeout_s)",
                   "start rollout workers: `pgenrm rollout --config <config> --run-dir <run dir>` (or check that "
                   "the MPI rollout ranks are alive)");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    json arr = json::array();
    for (uint64_t id : ids) arr.push_back(rollout::to_json(m.ready.at(id)));
    all = arr.dump();
  }
  if (m.server || m.client) {
    m.dp->broadcast_string(all, "rollout results");
  } else {
    do m.dp->broadcast_string(all, "rollout results (learner 0 waiting for workers)");
    while (all == "wait");
  }
  const json arr = json::parse(all);
  std::vector<rollout::Result> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    out.push_back(rollout::result_from_json(arr.at(i).get<std::string>(), group));
    m.ready.erase(ids[i]);
  }
  return out;
}

std::string RolloutLink::ledger_json() {
  Impl& m = *impl_;
  if (!m.server && !m.client) return "{}";
  return m.ledger();
}

}  // namespace pgenrm::trainer
