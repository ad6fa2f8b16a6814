#include "coordinator/scheduler.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.h"

namespace pgenrm::coordinator {

using nlohmann::json;

const char* to_string(Accept a) {
  switch (a) {
    case Accept::kAccepted: return "accepted";
    case Accept::kDuplicate: return "duplicate";
    case Accept::kUnknown: return "unknown";
  }
  return "?";
}

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
const char* state_name(LeaseRecord::State s) {
  switch (s) {
    case LeaseRecord::State::kActive: return "active";
    case LeaseRecord::State::kCompleted: return "completed";
    case LeaseRecord::State::kRevoked: return "revoked";
  }
  return "?";
}
LeaseRecord::State state_from(const std::string& s) {
  if (s == "completed") return LeaseRecord::State::kCompleted;
  if (s == "revoked") return LeaseRecord::State::kRevoked;
  return LeaseRecord::State::kActive;
}
}  // namespace

Scheduler::Scheduler(SchedulerOptions opts) : opts_(opts), ring_(opts.virtual_nodes) {}

void Scheduler::submit(const std::vector<WorkItem>& items) {
  for (const auto& it : items) {
    PGENRM_CHECK(!items_.count(it.id), "work item " + std::to_string(it.id) + " submitted twice",
                 "item ids must be unique within a coordinator's life");
    items_[it.id] = ItemEntry{it, ItemState::kPending, 0};
    route(it.id);
  }
}

void Scheduler::route(uint64_t id) {
  queues_[ring_.owner(items_.at(id).item.user)].push_back(id);
}

void Scheduler::reroute_all() {
  queues_.clear();
  for (auto& [id, e] : items_)
    if (e.state == ItemState::kPending) route(id);
}

void Scheduler::join(const std::string& worker, Clock::time_point now) {
  PGENRM_CHECK(!worker.empty(), "a worker joined with an empty name", "give every worker an id");
  auto [it, fresh] = workers_.try_emplace(worker);
  it->second.last_seen = now;
  if (!fresh) return;
  it->second.joined = now;
  ring_.add(worker);
  reroute_all();
}

bool Scheduler::alive(const std::string& worker) const { return workers_.count(worker) > 0; }

void Scheduler::heartbeat(const std::string& worker, Clock::time_point now) {
  auto it = workers_.find(worker);
  if (it != workers_.end()) it->second.last_seen = now;
}

void Scheduler::leave(const std::string& worker, const std::string& why, Clock::time_point) {
  if (!workers_.erase(worker)) return;
  std::vector<uint64_t> mine;
  for (const auto& [id, t] : lease_issued_)
    if (record(id)->worker == worker) mine.push_back(id);
  for (uint64_t id : mine) revoke(id, why);
  ring_.remove(worker);
  reroute_all();
}

LeaseRecord* Scheduler::record(uint64_t lease) {
  if (lease == 0 || lease > ledger_.leases.size()) return nullptr;
  return &ledger_.leases[lease - 1];
}

void Scheduler::revoke(uint64_t lease, const std::string& why) {
  LeaseRecord* r = record(lease);
  lease_issued_.erase(lease);
  r->state = LeaseRecord::State::kRevoked;
  r->why = why;
  for (uint64_t id : r->items) {
    ItemEntry& e = items_.at(id);
    if (e.state == ItemState::kLeased && e.lease == lease) {
      e.state = ItemState::kPending;
      e.lease = 0;
      route(id);
      ++ledger_.requeued;
    }
  }
}

std::optional<uint64_t> Scheduler::pop_from(std::deque<uint64_t>& q) {
  // Entries can be stale (an item completed by a late result while it sat
  // in a queue, or routed twice across a reroute): skip them.
  while (!q.empty()) {
    const uint64_t id = q.front();
    q.pop_front();
    if (items_.at(id).state == ItemState::kPending) return id;
  }
  return std::nullopt;
}

Lease Scheduler::lease(const std::string& worker, int max_items, Clock::time_point now) {
  Lease out;
  if (!alive(worker)) return out;
  heartbeat(worker, now);
  const int cap = std::clamp(max_items, 1, std::max(1, opts_.max_items_per_lease));
  std::vector<uint64_t> ids;
  auto& own = queues_[worker];
  while (static_cast<int>(ids.size()) < cap)
    if (auto id = pop_from(own)) ids.push_back(*id);
    else break;
  // Unowned items (queued while no worker lived) go to whoever asks.
  auto& orphan = queues_[""];
  while (static_cast<int>(ids.size()) < cap)
    if (auto id = pop_from(orphan)) ids.push_back(*id);
    else break;
  if (ids.empty() && opts_.steal_when_idle) {
    std::deque<uint64_t>* longest = nullptr;
    for (auto& [w, q] : queues_)
      if (w != worker && (!longest || q.size() > longest->size())) longest = &q;
    // From the back: the items the owner would reach last.
    while (longest && !longest->empty() && static_cast<int>(ids.size()) < cap) {
      const uint64_t id = longest->back();
      longest->pop_back();
      if (items_.at(id).state == ItemState::kPending) ids.push_back(id);
    }
  }
  if (ids.empty()) return out;
  out.id = next_lease_++;
  ledger_.leases.push_back(LeaseRecord{out.id, worker, ids, LeaseRecord::State::kActive, ""});
  lease_issued_[out.id] = now;
  for (uint64_t id : ids) {
    ItemEntry& e = items_.at(id);
    e.state = ItemState::kLeased;
    e.lease = out.id;
    out.items.push_back(e.item);
  }
  return out;
}

Accept Scheduler::complete(const std::string& worker, uint64_t lease, uint64_t item,
                           int64_t version, const std::string& result, Clock::time_point now) {
  heartbeat(worker, now);
  LeaseRecord* r = record(lease);
  // The (lease, item) pair must have been issued, to this worker.
  if (!r || r->worker != worker || std::find(r->items.begin(), r->items.end(), item) == r->items.end()) {
    ++ledger_.unknown;
    return Accept::kUnknown;
  }
  ItemEntry& e = items_.at(item);
  if (e.state == ItemState::kDone) {
    ++ledger_.duplicates;
    return Accept::kDuplicate;
  }
  // First result wins, also from a revoked lease (a late but valid answer):
  // the item is done wherever it is now (queued or leased elsewhere).
  e.state = ItemState::kDone;
  ItemResult res{item, lease, worker, version, result};
  ledger_.done[item] = ItemResult{item, lease, worker, version, ""};
  untaken_.push_back(std::move(res));
  ++ledger_.accepted;
  ++stats_done_;
  ++done_by_[worker];
  if (auto w = workers_.find(worker); w != workers_.end()) ++w->second.items_done;
  if (r->state == LeaseRecord::State::kActive &&
      std::all_of(r->items.begin(), r->items.end(),
                  [&](uint64_t id) { return items_.at(id).state == ItemState::kDone; })) {
    r->state = LeaseRecord::State::kCompleted;
    lease_issued_.erase(lease);
  }
  return Accept::kAccepted;
}

std::vector<std::string> Scheduler::expire(Clock::time_point now) {
  std::vector<std::string> dead;
  for (const auto& [w, e] : workers_)
    if (seconds(now - e.last_seen) > opts_.heartbeat_timeout_s) dead.push_back(w);
  for (const auto& w : dead) leave(w, "heartbeat timeout", now);
  if (opts_.lease_timeout_s > 0) {
    std::vector<uint64_t> old;
    for (const auto& [id, t] : lease_issued_)
      if (seconds(now - t) > opts_.lease_timeout_s) old.push_back(id);
    for (uint64_t id : old) revoke(id, "lease timeout");
  }
  return dead;
}

std::vector<ItemResult> Scheduler::take_results() {
  std::vector<ItemResult> out;
  out.swap(untaken_);
  return out;
}

Stats Scheduler::stats(Clock::time_point now) const {
  Stats s;
  s.submitted = static_cast<int64_t>(items_.size());
  for (const auto& [id, e] : items_) {
    if (e.state == ItemState::kPending) ++s.pending;
    if (e.state == ItemState::kLeased) ++s.leased;
  }
  s.done = stats_done_;
  for (const auto& [w, e] : workers_) {
    WorkerStats ws{w, true, e.items_done, 0, 0, 0};
    for (const auto& [id, t] : lease_issued_)
      if (ledger_.leases[id - 1].worker == w) ++ws.active_leases;
    if (auto q = queues_.find(w); q != queues_.end()) ws.queued = static_cast<int64_t>(q->second.size());
    const double up = seconds(now - e.joined);
    ws.items_per_s = up > 0 ? e.items_done / up : 0;
    s.workers.push_back(ws);
  }
  for (const auto& [w, n] : done_by_)
    if (!workers_.count(w)) s.workers.push_back(WorkerStats{w, false, n, 0, 0, 0});
  return s;
}

std::string Scheduler::snapshot_json() const {
  json j;
  j["format"] = "pgenrm.coordinator.v1";
  j["next_lease"] = next_lease_;
  j["workers"] = ring_.workers();
  j["virtual_nodes"] = ring_.virtual_nodes();
  json items = json::array();
  for (const auto& [id, e] : items_)
    items.push_back({{"id", id}, {"user", e.item.user}, {"payload", e.item.payload},
                     {"state", e.state == ItemState::kDone     ? "done"
                               : e.state == ItemState::kLeased ? "leased"
                                                               : "pending"},
                     {"lease", e.lease}});
  j["items"] = items;
  json leases = json::array();
  for (const auto& r : ledger_.leases)
    leases.push_back({{"id", r.id}, {"worker", r.worker}, {"items", r.items},
                      {"state", state_name(r.state)}, {"why", r.why}});
  j["leases"] = leases;
  json done = json::array();
  for (const auto& [id, r] : ledger_.done)
    done.push_back({{"item", id}, {"lease", r.lease}, {"worker", r.worker}, {"version", r.version}});
  j["done"] = done;
  json untaken = json::array();
  for (const auto& r : untaken_)
    untaken.push_back({{"item", r.item}, {"lease", r.lease}, {"worker", r.worker},
                       {"version", r.version}, {"result", r.result}});
  j["untaken"] = untaken;
  j["counters"] = {{"accepted", ledger_.accepted}, {"duplicates", ledger_.duplicates},
                   {"unknown", ledger_.unknown}, {"requeued", ledger_.requeued}};
  return j.dump();
}

void Scheduler::restore_json(const std::string& text, Clock::time_point now) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string("coordinator snapshot is not JSON: ") + e.what(),
                "the checkpoint's /coordinator entry is damaged; start the stage afresh");
  }
  PGENRM_CHECK(j.value("format", "") == "pgenrm.coordinator.v1",
               "coordinator snapshot of unknown format '" + j.value("format", "") + "'",
               "it was written by another version of pgenrm");
  *this = Scheduler(opts_);
  ring_ = HashRing(j.at("virtual_nodes").get<int>());
  next_lease_ = j.at("next_lease").get<uint64_t>();
  for (const auto& r : j.at("leases")) {
    ledger_.leases.push_back(LeaseRecord{r.at("id"), r.at("worker"),
                                         r.at("items").get<std::vector<uint64_t>>(),
                                         state_from(r.at("state")), r.at("why")});
    if (ledger_.leases.back().state == LeaseRecord::State::kActive)
      lease_issued_[ledger_.leases.back().id] = now;
  }
  for (const auto& it : j.at("items")) {
    const std::string st = it.at("state");
    ItemEntry e{WorkItem{it.at("id"), it.at("user"), it.at("payload")},
                st == "done" ? ItemState::kDone : st == "leased" ? ItemState::kLeased
                                                                 : ItemState::kPending,
                it.at("lease")};
    items_[e.item.id] = e;
    if (e.state == ItemState::kDone) ++stats_done_;
  }
  for (const auto& d : j.at("done")) {
    ItemResult r{d.at("item"), d.at("lease"), d.at("worker"), d.at("version"), ""};
    ++done_by_[r.worker];
    ledger_.done[r.item] = r;
  }
  for (const auto& u : j.at("untaken"))
    untaken_.push_back(ItemResult{u.at("item"), u.at("lease"), u.at("worker"), u.at("version"),
                                  u.at("result")});
  const auto& c = j.at("counters");
  ledger_.accepted = c.at("accepted");
  ledger_.duplicates = c.at("duplicates");
  ledger_.unknown = c.at("unknown");
  ledger_.requeued = c.at("requeued");
  for (const auto& w : j.at("workers")) {
    workers_[w] = WorkerEntry{now, now, 0};
    ring_.add(w);
  }
  reroute_all();
}

std::string Scheduler::ledger_summary_json() const {
  int64_t revoked = 0;
  for (const auto& r : ledger_.leases) revoked += r.state == LeaseRecord::State::kRevoked;
  return nlohmann::json{{"accepted", ledger_.accepted},
                        {"duplicates", ledger_.duplicates},
                        {"unknown", ledger_.unknown},
                        {"requeued", ledger_.requeued},
                        {"done", ledger_.done.size()},
                        {"submitted", items_.size()},
                        {"leases", ledger_.leases.size()},
                        {"revoked_leases", revoked}}
      .dump();
}

}  // namespace pgenrm::coordinator
