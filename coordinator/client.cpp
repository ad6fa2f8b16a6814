#include "coordinator/client.h"

// Boost 1.74's Asio uses std::exchange without including <utility> (C++20).
#include <utility>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "coordinator/frame.h"
#include "core/error.h"

namespace pgenrm::coordinator {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

struct Client::Impl {
  asio::io_context io;
  tcp::socket sock{io};
  bool up = false;

  // Runs the io_context until `done` or the timeout; on timeout the socket
  // is closed, which completes the pending operation with an error.
  template <class Pred>
  void run_until(const Pred& done, double timeout_s) {
    io.restart();
    io.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(timeout_s)));
    if (!done()) {
      boost::system::error_code ignored;
      sock.close(ignored);
      up = false;
      io.restart();
      io.run();  // drains the aborted handlers
    }
  }
};

Client::Client(ClientOptions opts) : opts_(std::move(opts)), impl_(std::make_unique<Impl>()) {}
Client::~Client() { close(); }

bool Client::connected() const { return impl_->up; }

void Client::close() {
  boost::system::error_code ignored;
  impl_->sock.close(ignored);
  impl_->up = false;
}

void Client::connect() {
  close();
  Impl& m = *impl_;
  m.sock = tcp::socket(m.io);
  boost::system::error_code ec = asio::error::would_block;
  // A host name (a cluster node) or an address.
  tcp::resolver resolver(m.io);
  boost::system::error_code rec;
  const auto eps = resolver.resolve(opts_.host, std::to_string(opts_.port), rec);
  PGENRM_CHECK(!rec, "cannot resolve the coordinator host '" + opts_.host + "': " + rec.message(),
               "check --coordinator HOST:PORT");
  asio::async_connect(m.sock, eps, [&](boost::system::error_code e, const tcp::endpoint&) { ec = e; });
  m.run_until([&] { return ec != asio::error::would_block; }, opts_.timeout_s);
  PGENRM_CHECK(!ec, "cannot reach the coordinator at " + opts_.host + ":" +
                        std::to_string(opts_.port) + ": " + ec.message(),
               "check --coordinator HOST:PORT and that the coordinator runs");
  m.up = true;
  const json reply = json::parse(
      request(json{{"type", "hello"}, {"token", opts_.token}, {"worker", opts_.worker}, {"role", opts_.role}}.dump()));
  PGENRM_CHECK(reply.value("type", "") == "welcome",
               "the coordinator refused worker " + opts_.worker + ": " +
                   reply.value("error", reply.dump()),
               "use the coordinator's token (coordinator.token / PGENRM_COORDINATOR_TOKEN)");
}

std::string Client::request(const std::string& json_text) {
  Impl& m = *impl_;
  PGENRM_CHECK(m.up, "coordinator request while disconnected", "call connect() first");
  const std::string out = encode_frame(json_text);
  boost::system::error_code ec = asio::error::would_block;
  asio::async_write(m.sock, asio::buffer(out), [&](boost::system::error_code e, size_t) { ec = e; });
  m.run_until([&] { return ec != asio::error::would_block; }, opts_.timeout_s);
  if (!ec) {
    // Header, then exactly the announced payload.
    std::array<unsigned char, kFrameHeaderBytes> head{};
    ec = asio::error::would_block;
    asio::async_read(m.sock, asio::buffer(head), [&](boost::system::error_code e, size_t) { ec = e; });
    m.run_until([&] { return ec != asio::error::would_block; }, opts_.timeout_s);
    if (!ec) {
      const size_t n = (size_t{head[0]} << 24) | (size_t{head[1]} << 16) |
                       (size_t{head[2]} << 8) | head[3];
      PGENRM_CHECK(n <= opts_.max_frame_bytes,
                   "coordinator reply of " + std::to_string(n) + " bytes exceeds the cap",
                   "raise max_frame_bytes, or this is not a pgenrm coordinator");
      std::string payload(n, '\0');
      ec = asio::error::would_block;
      asio::async_read(m.sock, asio::buffer(payload.data(), n),
                       [&](boost::system::error_code e, size_t) { ec = e; });
      m.run_until([&] { return ec != asio::error::would_block; }, opts_.timeout_s);
      if (!ec) return payload;
    }
  }
  close();
  throw Error("coordinator request failed: " + ec.message(),
              "the coordinator closed the connection or did not answer within " +
                  std::to_string(opts_.timeout_s) + " s; reconnect");
}

Lease Client::lease(int max_items) {
  const json r = json::parse(request(json{{"type", "lease"}, {"max", max_items}}.dump()));
  Lease l;
  l.id = r.at("lease").get<uint64_t>();
  for (const auto& it : r.at("items"))
    l.items.push_back(WorkItem{it.at("id"), it.at("user"), it.at("payload")});
  l.notice = r.value("notice", std::string());
  l.drained = r.value("drained", false);
  return l;
}

namespace {
json expect(const std::string& reply, const std::string& type) {
  json r = json::parse(reply);
  PGENRM_CHECK(r.value("type", "") == type,
               "the coordinator answered '" + r.value("type", std::string("?")) + "' where '" + type +
                   "' was expected: " + r.value("error", reply),
               "is this client's role right (worker / learner)?");
  return r;
}
}  // namespace

void Client::submit(const std::vector<WorkItem>& items) {
  json a = json::array();
  for (const auto& it : items) a.push_back({{"id", it.id}, {"user", it.user}, {"payload", it.payload}});
  expect(request(json{{"type", "submit"}, {"items", a}}.dump()), "ok");
}

std::vector<ItemResult> Client::take_results(uint64_t& since) {
  const json r = expect(request(json{{"type", "take"}, {"since", since}}.dump()), "results");
  since = r.at("next").get<uint64_t>();
  std::vector<ItemResult> out;
  for (const auto& x : r.at("results"))
    out.push_back(ItemResult{x.at("item").get<uint64_t>(), x.at("lease").get<uint64_t>(),
                             x.at("worker").get<std::string>(), x.at("version").get<int64_t>(),
                             x.at("result").get<std::string>()});
  return out;
}

void Client::set_notice(const std::string& notice) {
  expect(request(json{{"type", "notice"}, {"notice", notice}}.dump()), "ok");
}

std::string Client::ledger_json() { return expect(request(json{{"type", "ledger"}}.dump()), "ledger").dump(); }

Accept Client::result(uint64_t lease, uint64_t item, int64_t version, const std::string& result) {
  const json r = json::parse(request(json{{"type", "result"},
                                          {"lease", lease},
                                          {"item", item},
                                          {"version", version},
                                          {"result", result}}
                                         .dump()));
  const std::string s = r.value("status", "");
  if (s == "accepted") return Accept::kAccepted;
  if (s == "duplicate") return Accept::kDuplicate;
  return Accept::kUnknown;
}

void Client::heartbeat() { request(json{{"type", "heartbeat"}}.dump()); }

std::string Client::stats_json() { return request(json{{"type", "stats"}}.dump()); }

void Client::leave() {
  request(json{{"type", "leave"}}.dump());
  close();
}

}  // namespace pgenrm::coordinator
