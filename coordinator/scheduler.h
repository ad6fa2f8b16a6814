// The coordinator's state machine: work items, user shards, leases,
// heartbeats, results and the ledger. No sockets and no clock of its own
// (every call takes `now`), so tests drive it deterministically; the server
// (server.h) calls it under one mutex.
//
// Item life: submitted → pending (in its owner's queue) → leased (to one
// worker, in one lease) → done (first accepted result). A lease is revoked
// when its worker stops heartbeating (heartbeat_timeout_s), leaves, or holds
// it past lease_timeout_s (0 = no limit); its unfinished items return to the
// queues. Results are keyed (lease, item): the pair must have been issued,
// and the first result for an item is counted, every later one (a re-issued
// lease, a zombie worker) is recorded as a duplicate and dropped — so every
// item is counted exactly once even when its lease was re-issued.
//
// Routing: users → workers by consistent hashing (hash_ring.h); a worker
// with an empty queue may take from the longest other queue
// (steal_when_idle) so a skewed shard does not stall a stage.
//
// What it deliberately doesn't: interpret payloads or results (opaque
// strings: the learners and rollout workers agree on their format), run
// the model, or persist anything itself (snapshot_json() gives the state to
// the checkpoint library).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/hash_ring.h"

namespace pgenrm::coordinator {

using Clock = std::chrono::steady_clock;

struct WorkItem {
  uint64_t id = 0;
  std::string user;
  std::string payload;
};

struct SchedulerOptions {
  double heartbeat_timeout_s = 10;
  double lease_timeout_s = 0;  // 0: a lease lives as long as its worker
  int virtual_nodes = 64;
  bool steal_when_idle = true;
  int max_items_per_lease = 8;
};

struct Lease {
  uint64_t id = 0;  // 0: nothing to do right now
  std::vector<WorkItem> items;
  // Filled by the server on every lease reply: the learner's notice (an
  // opaque string, e.g. the current weights version or "stop") and whether
  // every submitted item is done.
  std::string notice;
  bool drained = false;
};

enum class Accept { kAccepted, kDuplicate, kUnknown };
const char* to_string(Accept a);

struct ItemResult {
  uint64_t item = 0;
  uint64_t lease = 0;
  std::string worker;
  int64_t version = -1;  // weights version that produced it
  std::string result;
};

// What the tests (and operators) read back.
struct LeaseRecord {
  enum class State { kActive, kCompleted, kRevoked };
  uint64_t id = 0;
  std::string worker;
  std::vector<uint64_t> items;
  State state = State::kActive;
  std::string why;  // revocation reason
};

struct Ledger {
  std::map<uint64_t, ItemResult> done;  // item → the one counted result (no payload)
  std::vector<LeaseRecord> leases;      // every lease ever issued, by id
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t unknown = 0;
  int64_t requeued = 0;  // item returns to the queue
};

struct WorkerStats {
  std::string worker;
  bool alive = false;
  int64_t items_done = 0;
  int64_t active_leases = 0;
  int64_t queued = 0;
  double items_per_s = 0;  // since it joined
};

struct Stats {
  int64_t submitted = 0, pending = 0, leased = 0, done = 0;
  std::vector<WorkerStats> workers;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions opts = {});

  // Throws pgenrm::Error on a duplicate item id.
  void submit(const std::vector<WorkItem>& items);
  void join(const std::string& worker, Clock::time_point now);
  // Revokes the worker's leases and moves its users to the others.
  void leave(const std::string& worker, const std::string& why, Clock::time_point now);
  bool alive(const std::string& worker) const;
  void heartbeat(const std::string& worker, Clock::time_point now);
  Lease lease(const std::string& worker, int max_items, Clock::time_point now);
  Accept complete(const std::string& worker, uint64_t lease, uint64_t item, int64_t version,
                  const std::string& result, Clock::time_point now);
  // Declares workers silent past the heartbeat timeout dead and revokes
  // leases past the lease timeout; returns the workers declared dead.
  std::vector<std::string> expire(Clock::time_point now);

  // Results not yet taken, in completion order.
  std::vector<ItemResult> take_results();
  bool all_done() const { return stats_done_ == static_cast<int64_t>(items_.size()); }
  // What the learner wants every worker to know (opaque; lease replies carry it).
  void set_notice(std::string notice) { notice_ = std::move(notice); }
  const std::string& notice() const { return notice_; }
  Stats stats(Clock::time_point now) const;
  const Ledger& ledger() const { return ledger_; }
  // {"accepted","duplicates","unknown","requeued","done","submitted","leases","revoked_leases"}
  std::string ledger_summary_json() const;
  std::string owner_of(const std::string& user) const { return ring_.owner(user); }
  const HashRing& ring() const { return ring_; }

  // Lease table, shard map (ring members), items and untaken results as
  // JSON; restore() accepts what snapshot_json() wrote. Restored workers
  // get a fresh heartbeat deadline from `now` to reconnect in.
  std::string snapshot_json() const;
  void restore_json(const std::string& json, Clock::time_point now);

 private:
  enum class ItemState { kPending, kLeased, kDone };
  struct ItemEntry {
    WorkItem item;
    ItemState state = ItemState::kPending;
    uint64_t lease = 0;
  };
  struct WorkerEntry {
    Clock::time_point last_seen, joined;
    int64_t items_done = 0;
  };

  void route(uint64_t id);
  void reroute_all();
  void revoke(uint64_t lease, const std::string& why);
  std::optional<uint64_t> pop_from(std::deque<uint64_t>& q);
  LeaseRecord* record(uint64_t lease);

  SchedulerOptions opts_;
  HashRing ring_;
  std::map<uint64_t, ItemEntry> items_;
  std::map<std::string, WorkerEntry> workers_;          // live workers
  std::map<std::string, std::deque<uint64_t>> queues_;  // worker → pending ids ("" = no worker)
  std::map<uint64_t, Clock::time_point> lease_issued_;  // active leases
  std::vector<ItemResult> untaken_;
  std::map<std::string, int64_t> done_by_;  // survives a worker's death, for stats
  Ledger ledger_;
  uint64_t next_lease_ = 1;
  int64_t stats_done_ = 0;
  std::string notice_;
};

}  // namespace pgenrm::coordinator
