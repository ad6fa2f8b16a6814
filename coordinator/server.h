// The coordinator service: Boost.Asio TCP in front of a Scheduler.
//
// What it does: accepts rollout workers on a loopback port unless told
// otherwise, reads length-prefixed JSON frames (frame.h) with a size cap,
// requires a shared-token hello first, and answers request by request:
//   hello{token, worker} → welcome | error      lease{max} → lease{lease, items}
//   result{lease, item, version, result} → ack{status}
//   heartbeat → ok      stats → stats{...}      leave → ok (then closes)
// Every frame from a worker counts as its heartbeat; a periodic timer
// declares silent workers dead (their leases return to the queue).
// Hostile input is contained per connection: an oversized length, a bad
// token, bytes that are not a JSON request, a sender that stalls inside a
// frame (frame_timeout_s) or says nothing at all (handshake / idle timeout)
// each close that one connection, are counted, and disturb nobody else.
// The learner side (same process) submits items and takes results through
// the locked in-process API below.
//
// Threads: one I/O thread runs the io_context; the Scheduler is guarded by
// one mutex shared with the in-process API.
// What it deliberately doesn't: carry weights (comm/ broadcasts those),
// encrypt (bind to loopback or a private network; the token is a guard
// against accidents and strays, not an attacker on the wire).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "coordinator/scheduler.h"

namespace pgenrm::coordinator {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (see port())
  std::string token;  // required, non-empty
  size_t max_frame_bytes = 4u << 20;
  double handshake_timeout_s = 5;  // connect → hello
  double frame_timeout_s = 5;      // first byte of a frame → its last
  double idle_timeout_s = 120;     // between frames of an authenticated worker
  double expire_interval_s = 0.25;
  SchedulerOptions scheduler;
};

struct ServerCounters {
  int64_t connections = 0;
  int64_t rejected_oversized = 0;
  int64_t rejected_bad_token = 0;
  int64_t rejected_malformed = 0;
  int64_t dropped_stalled = 0;
  int64_t dropped_idle = 0;
  int64_t requests = 0;
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O thread; throws pgenrm::Error if it cannot bind.
  void start();
  void stop();
  uint16_t port() const;

  // Runs f(scheduler) under the lock (submit, take_results, stats, ledger,
  // snapshot/restore).
  template <class F>
  auto with_scheduler(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return f(sched_);
  }
  ServerCounters counters() const;

  struct Impl;  // opaque: Asio stays out of this header

 private:
  mutable std::mutex mu_;
  Scheduler sched_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgenrm::coordinator
