// The TCP service on 127.0.0.1 (ephemeral port): a worker that dies
// mid-lease loses nothing and nothing counts twice; hostile connections
// (oversized frame, bad token, garbage bytes, a stall mid-frame, silence)
// are each closed and counted while a well-behaved worker keeps working.
#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "coordinator/client.h"
#include "coordinator/frame.h"
#include "coordinator/server.h"
#include "core/error.h"

namespace pgenrm::coordinator {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr const char* kToken = "s3cret";

ServerOptions test_options() {
  ServerOptions o;
  o.token = kToken;
  o.max_frame_bytes = 4096;
  o.handshake_timeout_s = 1.0;
  o.frame_timeout_s = 1.0;
  o.idle_timeout_s = 30;
  o.expire_interval_s = 0.05;
  o.scheduler.heartbeat_timeout_s = 0.4;
  o.scheduler.max_items_per_lease = 4;
  return o;
}

ClientOptions client_options(uint16_t port, const std::string& worker,
                             const std::string& token = kToken) {
  ClientOptions c;
  c.port = port;
  c.worker = worker;
  c.token = token;
  c.timeout_s = 3;
  return c;
}

std::vector<WorkItem> items(int n) {
  std::vector<WorkItem> v;
  for (int i = 1; i <= n; ++i) v.push_back({uint64_t(i), "user" + std::to_string(i % 7), "p"});
  return v;
}

// A raw connection for misbehaving on purpose.
struct Raw {
  asio::io_context io;
  tcp::socket s{io};
  explicit Raw(uint16_t port) { s.connect({asio::ip::make_address("127.0.0.1"), port}); }
  void send(const std::string& bytes) { asio::write(s, asio::buffer(bytes)); }
  // Reads until the server closes (true) or `limit_s` passes (false).
  bool closed_within(double limit_s, std::string* got = nullptr) {
    std::array<char, 4096> buf{};
    bool closed = false, done = false;
    std::function<void()> more = [&] {
      s.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
        if (ec) {
          closed = done = true;
          return;
        }
        if (got) got->append(buf.data(), n);
        more();
      });
    };
    more();
    io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(limit_s)));
    if (!done) {
      s.close();
      io.restart();
      io.run();
    }
    return closed;
  }
};

// A well-behaved worker does one full lease → results round trip.
int work_some(Client& c) {
  int n = 0;
  Lease l = c.lease(2);
  for (const auto& it : l.items) n += c.result(l.id, it.id, 1, "ok") == Accept::kAccepted;
  return n;
}

TEST(Server, WorkerDiesMidLeaseNothingLostNothingTwice) {
  Server srv(test_options());
  srv.start();
  srv.with_scheduler([](Scheduler& s) { s.submit(items(24)); });
  Client a(client_options(srv.port(), "a")), b(client_options(srv.port(), "b"));
  a.connect();
  b.connect();
  Lease la = a.lease(4);
  ASSERT_FALSE(la.items.empty());
  EXPECT_EQ(a.result(la.id, la.items[0].id, 1, "a0"), Accept::kAccepted);
  a.close();  // "killed": no leave, no more heartbeats

  // b works on, heartbeating through its requests, until all is done.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!srv.with_scheduler([](Scheduler& s) { return s.all_done(); })) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "work was lost";
    Lease l = b.lease(4);
    for (const auto& it : l.items) EXPECT_EQ(b.result(l.id, it.id, 1, "b"), Accept::kAccepted);
    if (l.items.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const Ledger L = srv.with_scheduler([](Scheduler& s) { return s.ledger(); });
  EXPECT_EQ(L.done.size(), 24u);
  EXPECT_EQ(L.accepted, 24);
  EXPECT_GE(L.requeued, static_cast<int64_t>(la.items.size()) - 1);
  bool revoked = false;
  for (const auto& r : L.leases)
    if (r.id == la.id) revoked = r.state == LeaseRecord::State::kRevoked && r.why == "heartbeat timeout";
  EXPECT_TRUE(revoked);
  // The restarted a reports a stale result: a duplicate, not counted.
  a.connect();
  EXPECT_EQ(a.result(la.id, la.items.back().id, 1, "late"), Accept::kDuplicate);
  EXPECT_EQ(srv.with_scheduler([](Scheduler& s) { return s.ledger().accepted; }), 24);
  const auto res = srv.with_scheduler([](Scheduler& s) { return s.take_results(); });
  std::set<uint64_t> ids;
  for (const auto& r : res) EXPECT_TRUE(ids.insert(r.item).second);
  EXPECT_EQ(ids.size(), 24u);
  EXPECT_NE(b.stats_json().find("\"done\":24"), std::string::npos);
  b.leave();
}

TEST(Server, HostileClientsAreClosedWhileAGoodWorkerKeepsWorking) {
  Server srv(test_options());
  srv.start();
  srv.with_scheduler([](Scheduler& s) { s.submit(items(200)); });
  Client good(client_options(srv.port(), "good"));
  good.connect();
  int done = work_some(good);

  {  // Oversized: a header announcing 1 GiB.
    Raw r(srv.port());
    r.send(std::string("\x40\x00\x00\x00", 4));
    std::string got;
    EXPECT_TRUE(r.closed_within(2, &got));
    EXPECT_NE(got.find("exceeds the cap"), std::string::npos);
  }
  done += work_some(good);
  {  // Bad token.
    Raw r(srv.port());
    r.send(encode_frame(R"({"type":"hello","token":"wrong","worker":"x"})"));
    std::string got;
    EXPECT_TRUE(r.closed_within(2, &got));
    EXPECT_NE(got.find("bad or missing token"), std::string::npos);
    Client bad(client_options(srv.port(), "x", "nope"));
    EXPECT_THROW(bad.connect(), Error);
  }
  done += work_some(good);
  {  // Garbage bytes that happen to parse as a small length, then not JSON.
    Raw r(srv.port());
    r.send(encode_frame("\x01\x02garbage\xff{{{"));
    EXPECT_TRUE(r.closed_within(2));
    Raw http(srv.port());  // an HTTP request: its first 4 bytes are a huge length
    http.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(http.closed_within(2));
    Raw before_hello(srv.port());  // a valid request but no hello first
    before_hello.send(encode_frame(R"({"type":"lease","max":4})"));
    EXPECT_TRUE(before_hello.closed_within(2));
  }
  done += work_some(good);
  {  // Stalled mid-frame: half a header, then half a body; the good worker
     // is served meanwhile.
    Raw half_header(srv.port());
    half_header.send(std::string("\x00\x00", 2));
    Raw half_body(srv.port());
    const std::string f = encode_frame(R"({"type":"hello","token":"s3cret","worker":"slow"})");
    half_body.send(f.substr(0, f.size() / 2));
    done += work_some(good);
    // Served while both stalled peers were still connected.
    EXPECT_EQ(srv.counters().dropped_stalled, 0) << "the good worker waited for the stall";
    EXPECT_TRUE(half_header.closed_within(3));
    EXPECT_TRUE(half_body.closed_within(3));
  }
  {  // Connects and says nothing: the handshake deadline closes it.
    Raw silent(srv.port());
    EXPECT_TRUE(silent.closed_within(3));
  }
  done += work_some(good);
  EXPECT_EQ(done, 12);
  const ServerCounters c = srv.counters();
  EXPECT_GE(c.rejected_oversized, 2);  // 1 GiB header, HTTP
  EXPECT_GE(c.rejected_bad_token, 3);  // raw, Client, lease-before-hello
  EXPECT_GE(c.rejected_malformed, 1);
  EXPECT_EQ(c.dropped_stalled, 2);
  EXPECT_EQ(c.dropped_idle, 1);
  EXPECT_TRUE(good.connected());
}

TEST(Server, BindsLoopbackByDefaultAndRefusesAnEmptyToken) {
  ServerOptions o = test_options();
  EXPECT_EQ(o.bind_address, "127.0.0.1");
  o.token = "";
  EXPECT_THROW(Server s(o), Error);
}

// The learner side of a standalone coordinator: a client that says hello
// as a learner submits, sets the notice that every lease reply carries,
// takes results and reads the ledger; a worker connection may do none of
// that (it is closed), and a learner is never a worker on the ring.
TEST(Server, LearnerRoleSubmitsNoticesAndTakesResults) {
  Server srv(test_options());
  srv.start();
  ClientOptions lo = client_options(srv.port(), "learner-0");
  lo.role = "learner";
  Client learner(lo);
  learner.connect();
  learner.set_notice("{\"version\":3}");
  learner.submit(items(3));
  Client w(client_options(srv.port(), "w1"));
  w.connect();
  Lease l = w.lease(4);
  EXPECT_EQ(l.items.size(), 3u);
  EXPECT_EQ(l.notice, "{\"version\":3}");
  EXPECT_FALSE(l.drained);
  for (const auto& it : l.items) EXPECT_EQ(w.result(l.id, it.id, 3, "r" + std::to_string(it.id)), Accept::kAccepted);
  EXPECT_TRUE(w.lease(4).drained);
  uint64_t since = 0;
  std::vector<ItemResult> got = learner.take_results(since);
  EXPECT_EQ(since, 3u);
  // The reply "lost": taking again from 0 sends the same results again.
  uint64_t again = 0;
  EXPECT_EQ(learner.take_results(again).size(), 3u);
  ASSERT_EQ(got.size(), 3u);
  std::set<uint64_t> ids;
  for (const auto& r : got) {
    ids.insert(r.item);
    EXPECT_EQ(r.result, "r" + std::to_string(r.item));
    EXPECT_EQ(r.worker, "w1");
    EXPECT_EQ(r.version, 3);
  }
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(learner.take_results(since).empty()) << "acknowledged results are not sent again";
  uint64_t from_zero = 0;
  EXPECT_TRUE(learner.take_results(from_zero).empty()) << "acknowledged results are dropped";
  EXPECT_EQ(from_zero, 3u);
  const std::string ledger = learner.ledger_json();
  EXPECT_NE(ledger.find("\"accepted\":3"), std::string::npos) << ledger;
  // Only w1 is a worker.
  const auto st = srv.with_scheduler([](Scheduler& s) { return s.stats(Clock::now()); });
  ASSERT_EQ(st.workers.size(), 1u);
  EXPECT_EQ(st.workers[0].worker, "w1");
  // A worker may not submit.
  EXPECT_THROW(w.submit(items(1)), pgenrm::Error);
  EXPECT_THROW(w.heartbeat(), pgenrm::Error) << "the server closed that connection";
}

}  // namespace
}  // namespace pgenrm::coordinator
