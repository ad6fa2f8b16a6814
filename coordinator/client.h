// The rollout worker's side of the coordinator protocol (server.h).
//
// What it does: connects, says hello with the shared token, then makes one
// request at a time (lease, result, heartbeat, stats, leave), each bounded
// by a timeout; a timeout or a closed connection throws pgenrm::Error and
// leaves the client disconnected (connect() again to rejoin: the
// coordinator keeps the worker's leases until its heartbeat timeout).
// What it deliberately doesn't: retry, run a heartbeat thread (the worker
// loop calls heartbeat() between long generations), or interpret payloads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/scheduler.h"

namespace pgenrm::coordinator {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string token;
  std::string worker;
  // "worker" (leases, results) or "learner" (submits items, takes results,
  // sets the notice: the trainer's side of a standalone coordinator).
  std::string role = "worker";
  double timeout_s = 10;
  size_t max_frame_bytes = 64u << 20;
};

class Client {
 public:
  explicit Client(ClientOptions opts);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void connect();  // + hello; throws on refusal, naming the server's reason
  bool connected() const;
  void close();

  Lease lease(int max_items);
  Accept result(uint64_t lease, uint64_t item, int64_t version, const std::string& result);
  void heartbeat();
  std::string stats_json();
  void leave();  // the coordinator requeues this worker's leases now

  // Learner role only.
  void submit(const std::vector<WorkItem>& items);
  // Results from sequence number `since` on; advances `since` past them.
  // Until a later call acknowledges them (with the advanced `since`), the
  // coordinator keeps them, so a reply lost on the wire is sent again.
  std::vector<ItemResult> take_results(uint64_t& since);
  void set_notice(const std::string& notice);
  std::string ledger_json();  // {accepted, duplicates, unknown, requeued, done, leases, revoked_leases}

  // One raw request (a JSON object) → the reply's JSON text.
  std::string request(const std::string& json_text);

 private:
  struct Impl;
  ClientOptions opts_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgenrm::coordinator
