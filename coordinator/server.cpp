#include "coordinator/server.h"

// Boost 1.74's Asio uses std::exchange without including <utility> (C++20).
#include <utility>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <deque>
#include <thread>

#include "coordinator/frame.h"
#include "core/error.h"
#include "core/log.h"

namespace pgenrm::coordinator {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace {

std::chrono::steady_clock::duration secs(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

// Comparison time independent of where the strings differ.
bool same_token(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

json item_json(const WorkItem& it) {
  return {{"id", it.id}, {"user", it.user}, {"payload", it.payload}};
}

json stats_json(const Stats& st) {
  json ws = json::array();
  for (const auto& w : st.workers)
    ws.push_back({{"worker", w.worker}, {"alive", w.alive}, {"items_done", w.items_done},
                  {"active_leases", w.active_leases}, {"queued", w.queued},
                  {"items_per_s", w.items_per_s}});
  return json{{"type", "stats"}, {"submitted", st.submitted}, {"pending", st.pending},
              {"leased", st.leased}, {"done", st.done}, {"workers", ws}};
}

json ledger_json(const Scheduler& s) {
  json j = json::parse(s.ledger_summary_json());
  j["type"] = "ledger";
  return j;
}

// Results handed to a learner-role client, kept until it acknowledges them:
// a take{since} reply lists every result from sequence number `since` on,
// and a later take with a larger `since` drops those before it. A reply
// lost on the wire is therefore sent again by the next take.
struct DeliveryLog {
  uint64_t base = 0;  // sequence number of entries.front()
  std::deque<ItemResult> entries;
};

// submit{items} → ok; take{since} → results{results, next}; notice{notice} → ok; ledger.
json learner_request(Scheduler& s, DeliveryLog& log, const std::string& type, const json& req) {
  if (type == "submit") {
    std::vector<WorkItem> items;
    for (const auto& it : req.at("items"))
      items.push_back(WorkItem{it.at("id").get<uint64_t>(), it.at("user").get<std::string>(),
                               it.at("payload").get<std::string>()});
    s.submit(items);
    return json{{"type", "ok"}};
  }
  if (type == "take") {
    for (auto& r : s.take_results()) log.entries.push_back(std::move(r));
    const uint64_t since = req.value("since", log.base);
    while (log.base < since && !log.entries.empty()) {
      log.entries.pop_front();
      ++log.base;
    }
    json rs = json::array();
    for (const auto& r : log.entries)
      rs.push_back({{"item", r.item}, {"lease", r.lease}, {"worker", r.worker}, {"version", r.version},
                    {"result", r.result}});
    return json{{"type", "results"}, {"results", rs}, {"next", log.base + log.entries.size()}};
  }
  if (type == "notice") {
    s.set_notice(req.at("notice").get<std::string>());
    return json{{"type", "ok"}};
  }
  if (type == "ledger") return ledger_json(s);
  throw std::runtime_error("'" + type + "' is not a learner request (submit, take, notice, ledger, stats)");
}

}  // namespace

struct Server::Impl {
  Server& owner;
  ServerOptions opts;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer expire_timer{io};
  std::thread thread;
  ServerCounters counters;  // under owner.mu_
  DeliveryLog delivered;    // under owner.mu_: results handed to learner-role clients
  bool running = false;

  Impl(Server& o, ServerOptions op) : owner(o), opts(std::move(op)) {}
  void accept();
  void schedule_expire();
  void count(int64_t ServerCounters::*field) {
    std::lock_guard<std::mutex> l(owner.mu_);
    ++(counters.*field);
  }
};

namespace {

// One connection. Consumes: bytes from its socket. Waits for: a read, a
// write, or its deadline timer (whichever is armed). Unblocked by: data,
// the peer closing, the deadline (which closes), or the server stopping.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, Server::Impl& srv)
      : sock_(std::move(s)), timer_(sock_.get_executor()), srv_(srv),
        reader_(srv.opts.max_frame_bytes) {}

  void start() {
    arm_deadline();
    read();
  }

 private:
  void read() {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(rbuf_), [self](boost::system::error_code ec, size_t n) {
      if (ec) return self->close();
      self->reader_.feed(self->rbuf_.data(), n);
      self->process();
    });
  }

  // Handles every complete frame buffered, one reply at a time.
  void process() {
    if (closed_) return;
    std::string payload;
    switch (reader_.next(payload)) {
      case FrameReader::Status::kOversized:
        srv_.count(&ServerCounters::rejected_oversized);
        return reject("frame of " + std::to_string(reader_.announced()) +
                      " bytes exceeds the cap of " + std::to_string(srv_.opts.max_frame_bytes));
      case FrameReader::Status::kNeedMore:
        arm_deadline();
        return read();
      case FrameReader::Status::kFrame: break;
    }
    json reply;
    bool close_after = false;
    if (!handle(payload, reply, close_after)) return;  // rejected
    arm_deadline(/*writing=*/true);
    write(reply.dump(), [self = shared_from_this(), close_after] {
      if (close_after) return self->close();
      self->process();
    });
  }

  // false: the connection was rejected.
  bool handle(const std::string& payload, json& reply, bool& close_after) {
    json req;
    try {
      req = json::parse(payload);
      if (!req.is_object() || !req.contains("type") || !req["type"].is_string())
        throw std::runtime_error("not a request object");
    } catch (const std::exception&) {
      srv_.count(&ServerCounters::rejected_malformed);
      reject("malformed frame: not a JSON request");
      return false;
    }
    const std::string type = req["type"];
    if (!authed_) {
      if (type != "hello" || !req.contains("token") || !req["token"].is_string() ||
          !same_token(req["token"], srv_.opts.token)) {
        srv_.count(&ServerCounters::rejected_bad_token);
        reject("bad or missing token in hello");
        return false;
      }
      if (!req.contains("worker") || !req["worker"].is_string() || req["worker"] == "") {
        srv_.count(&ServerCounters::rejected_malformed);
        reject("hello without a worker id");
        return false;
      }
      authed_ = true;
      worker_ = req["worker"];
      // A learner (the trainer's side when the coordinator runs standalone)
      // submits items and takes results; it is never a worker on the ring.
      learner_ = req.value("role", std::string("worker")) == "learner";
      if (!learner_) srv_.owner.with_scheduler([&](Scheduler& s) { s.join(worker_, Clock::now()); });
      reply = {{"type", "welcome"}, {"heartbeat_s", srv_.opts.scheduler.heartbeat_timeout_s}};
      return true;
    }
    try {
      reply = srv_.owner.with_scheduler([&](Scheduler& s) {
        const auto now = Clock::now();
        ++srv_.counters.requests;
        if (type == "stats") return stats_json(s.stats(now));
        if (learner_) return learner_request(s, srv_.delivered, type, req);
        if (type == "submit" || type == "take" || type == "notice" || type == "ledger")
          throw std::runtime_error("'" + type + "' is a learner request; this connection said hello as a worker");
        // A worker declared dead that speaks again simply rejoins; its old
        // leases stay revoked, and its late results still count if first.
        if (!s.alive(worker_)) s.join(worker_, now);
        s.heartbeat(worker_, now);
        if (type == "heartbeat") return json{{"type", "ok"}};
        if (type == "lease") {
          const Lease l = s.lease(worker_, req.value("max", 1), now);
          json items = json::array();
          for (const auto& it : l.items) items.push_back(item_json(it));
          return json{{"type", "lease"}, {"lease", l.id}, {"items", items}, {"notice", s.notice()},
                      {"drained", s.all_done()}};
        }
        if (type == "result") {
          const Accept a = s.complete(worker_, req.at("lease").get<uint64_t>(),
                                      req.at("item").get<uint64_t>(), req.value("version", -1),
                                      req.value("result", std::string()), now);
          return json{{"type", "ack"}, {"status", to_string(a)}};
        }
        if (type == "leave") {
          s.leave(worker_, "left", now);
          close_after = true;
          return json{{"type", "ok"}};
        }
        throw std::runtime_error("unknown request type '" + type + "'");
      });
    } catch (const std::exception& e) {
      srv_.count(&ServerCounters::rejected_malformed);
      reject(std::string("malformed request: ") + e.what());
      return false;
    }
    return true;
  }

  template <class F>
  void write(std::string payload, F&& then) {
    out_ = encode_frame(payload);
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(out_),
                      [self, then = std::forward<F>(then)](boost::system::error_code ec, size_t) {
                        if (ec) return self->close();
                        then();
                      });
  }

  // Tells the peer why (best effort, bounded by the deadline), then closes.
  void reject(const std::string& why) {
    PGENRM_LOG_WARN("coordinator: closing connection",
                    worker_.empty() ? std::string() : " of worker " + worker_, ": ", why);
    arm_deadline(/*writing=*/true);
    write(json{{"type", "error"}, {"error", why}}.dump(), [self = shared_from_this()] {
      self->close();
    });
  }

  // One timer per connection: the handshake deadline before hello, the
  // frame deadline inside a frame or a write, the idle deadline between
  // frames. A stale expiry (re-armed since) is recognised by its generation.
  void arm_deadline(bool writing = false) {
    const auto& o = srv_.opts;
    const bool mid = writing || reader_.mid_frame();
    const double s = mid ? o.frame_timeout_s : authed_ ? o.idle_timeout_s : o.handshake_timeout_s;
    timer_.expires_after(secs(s));
    const uint64_t gen = ++gen_;
    timer_.async_wait([self = shared_from_this(), gen, mid](boost::system::error_code ec) {
      if (ec || gen != self->gen_ || self->closed_) return;
      self->srv_.count(mid ? &ServerCounters::dropped_stalled : &ServerCounters::dropped_idle);
      PGENRM_LOG_WARN("coordinator: dropping ",
                      self->worker_.empty() ? std::string("an unauthenticated connection")
                                            : "worker " + self->worker_,
                      mid ? ": stalled inside a frame" : ": idle past its deadline");
      self->close();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

  tcp::socket sock_;
  asio::steady_timer timer_;
  Server::Impl& srv_;
  FrameReader reader_;
  std::array<char, 16384> rbuf_{};
  std::string out_, worker_;
  bool authed_ = false, closed_ = false;
  bool learner_ = false;  // said hello with role "learner"
  uint64_t gen_ = 0;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
    } else {
      count(&ServerCounters::connections);
      std::make_shared<Session>(std::move(s), *this)->start();
    }
    accept();
  });
}

void Server::Impl::schedule_expire() {
  expire_timer.expires_after(secs(opts.expire_interval_s));
  expire_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto dead = owner.with_scheduler([](Scheduler& s) { return s.expire(Clock::now()); });
    for (const auto& w : dead)
      PGENRM_LOG_WARN("coordinator: worker ", w, " missed its heartbeats; its leases are requeued");
    schedule_expire();
  });
}

Server::Server(ServerOptions opts) : sched_(opts.scheduler), impl_(std::make_unique<Impl>(*this, opts)) {
  PGENRM_CHECK(!opts.token.empty(), "coordinator started without a token",
               "set coordinator.token (or PGENRM_COORDINATOR_TOKEN) to a shared secret");
}

Server::~Server() { stop(); }

void Server::start() {
  Impl& m = *impl_;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(m.opts.bind_address, ec);
  PGENRM_CHECK(!ec, "coordinator bind address '" + m.opts.bind_address + "' is not an IP address",
               "use 127.0.0.1 (default), 0.0.0.0 or this host's address");
  tcp::endpoint ep(addr, m.opts.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  PGENRM_CHECK(!ec,
               "coordinator cannot listen on " + m.opts.bind_address + ":" +
                   std::to_string(m.opts.port) + ": " + ec.message(),
               "pick a free port (0 = any) or stop the process holding it");
  m.accept();
  m.schedule_expire();
  m.running = true;
  m.thread = std::thread([&m] { m.io.run(); });
}

void Server::stop() {
  Impl& m = *impl_;
  if (!m.running) return;
  m.running = false;
  asio::post(m.io, [&m] {
    boost::system::error_code ignored;
    m.acceptor.close(ignored);
    m.expire_timer.cancel();
  });
  m.io.stop();
  if (m.thread.joinable()) m.thread.join();
}

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

ServerCounters Server::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return impl_->counters;
}

}  // namespace pgenrm::coordinator
