// The LLM-judge client against a canned OpenAI-compatible server that this
// test runs on 127.0.0.1 (an ephemeral port, one thread, Boost.Beast). It
// checks what the client sends (target, headers, model, temperature, the
// criteria in the messages) and how it reads replies, HTTP errors, garbage,
// refused connections and a server that never answers.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "chain/judge.h"
#include "core/error.h"

namespace pgenrm::chain {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Serves one canned reply per connection, in order, then stops.
class CannedServer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;
    bool hang = false;  // read the request, never answer (until the client leaves)
  };
  struct Seen {
    std::string target, host, authorization, content_type, body;
  };

  explicit CannedServer(std::vector<Reply> replies)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        replies_(std::move(replies)),
        thread_([this] { serve(); }) {}

  ~CannedServer() {
    stop_ = true;
    // Wake an accept() still waiting for a client the test never sent.
    beast::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ec);
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/v1") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void serve() {
    for (const Reply& reply : replies_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) continue;
      record(req);
      if (reply.hang) {
        char byte;
        socket.read_some(asio::buffer(&byte, 1), ec);  // returns when the client gives up
        continue;
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = reply.body;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  void record(const http::request<http::string_body>& req) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back({std::string(req.target()), std::string(req[http::field::host]),
                     std::string(req[http::field::authorization]), std::string(req[http::field::content_type]),
                     req.body()});
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<Reply> replies_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::thread thread_;  // last: starts after everything it uses exists
};

std::string completion(const std::string& content) {
  return nlohmann::json{{"id", "x"},
                        {"object", "chat.completion"},
                        {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}}}}}
      .dump();
}

JudgeConfig config_for(const std::string& url) {
  JudgeConfig cfg;
  cfg.url = url;
  cfg.model = "judge-model";
  cfg.timeout = std::chrono::milliseconds(5000);
  return cfg;
}

const std::vector<UserCriterion> kUser = {{"short answers", 0.8}, {"empathy", 0.2}};
const std::vector<Criterion> kChain = {{"brevity", 40}, {"warmth", 35}, {"accuracy", 25}};

// Runs f, expects a pgenrm::Error whose text holds every one of `parts`.
void expect_error_with(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no pgenrm::Error thrown";
  } catch (const Error& e) {
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Judge, SendsAChatCompletionAndReadsTheScore) {
  CannedServer server({{200, completion("0.75")}});
  JudgeConfig cfg = config_for(server.url());
  cfg.api_key = "secret-token";
  JudgeScorer judge(cfg);
  EXPECT_DOUBLE_EQ(judge.score(kUser, kChain), 0.75);

  std::vector<CannedServer::Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/chat/completions");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0].authorization, "Bearer secret-token");
  EXPECT_EQ(seen[0].content_type, "application/json");
  nlohmann::json body = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(body["model"], "judge-model");
  EXPECT_EQ(body["temperature"], 0);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][0]["content"], std::string(kJudgeSystemPrompt));
  EXPECT_EQ(body["messages"][1]["role"], "user");
  const std::string user_msg = body["messages"][1]["content"];
  for (const char* part : {"short answers (0.80)", "empathy (0.20)", "brevity (40%)", "warmth (35%)",
                           "accuracy (25%)"}) {
    EXPECT_NE(user_msg.find(part), std::string::npos) << part << " not in:\n" << user_msg;
  }
  EXPECT_EQ(body.dump(), nlohmann::json::parse(judge.request_body(kUser, kChain)).dump());
}

TEST(Judge, ExtractsTheFirstNumberAndClamps) {
  CannedServer server({{200, completion("Score: 1.7 out of 1")},
                       {200, completion("-0.5")},
                       {200, completion("I'd say .6, maybe 0.7")}});
  JudgeScorer judge(config_for(server.url("/")));
  EXPECT_EQ(judge.score(kUser, kChain), 1.0);
  EXPECT_EQ(judge.score(kUser, kChain), 0.0);
  EXPECT_DOUBLE_EQ(judge.score(kUser, kChain), 0.6);
  for (const auto& s : server.seen()) EXPECT_EQ(s.target, "/v1/chat/completions");  // bare host → /v1/...
}

TEST(Judge, Http500IsAnErrorNamingTheUrl) {
  CannedServer server({{500, R"({"error": "model not loaded"})"}});
  JudgeScorer judge(config_for(server.url()));
  expect_error_with([&] { judge.score(kUser, kChain); },
                    {"HTTP 500", server.url() + "/chat/completions", "model not loaded", "hint:"});
}

TEST(Judge, GarbageReplyIsAnError) {
  CannedServer server({{200, "<html>oops</html>"}, {200, R"({"choices": []})"}, {200, completion("excellent!")}});
  JudgeScorer judge(config_for(server.url()));
  expect_error_with([&] { judge.score(kUser, kChain); }, {"choices[0].message.content", "oops", "hint:"});
  expect_error_with([&] { judge.score(kUser, kChain); }, {"choices[0].message.content"});
  expect_error_with([&] { judge.score(kUser, kChain); }, {"without a number", "excellent"});
}

TEST(Judge, RefusedConnectionIsAnErrorNamingTheUrl) {
  unsigned short port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  JudgeScorer judge(config_for(url));
  expect_error_with([&] { judge.score(kUser, kChain); }, {"cannot connect", url, "hint:"});
}

TEST(Judge, SilentServerTimesOut) {
  CannedServer server({{200, "", /*hang=*/true}});
  JudgeConfig cfg = config_for(server.url());
  cfg.timeout = std::chrono::milliseconds(300);
  JudgeScorer judge(cfg);
  expect_error_with([&] { judge.score(kUser, kChain); }, {"did not answer within 300 ms", "read the reply"});
}

TEST(Judge, NoCriteriaMeansNoRequest) {
  CannedServer server({});
  JudgeScorer judge(config_for(server.url()));
  EXPECT_EQ(judge.score({}, kChain), kNoUserCriteriaReward);
  EXPECT_EQ(judge.score(kUser, {}), 0.0);
  EXPECT_TRUE(server.seen().empty());
}

TEST(Judge, ConfigurationErrorsAtConstruction) {
  JudgeConfig no_model = config_for("http://127.0.0.1:8000/v1");
  no_model.model.clear();
  EXPECT_THROW(JudgeScorer{no_model}, Error);
  expect_error_with([] { JudgeScorer{config_for("https://api.example.com/v1")}; }, {"https", "not supported"});
  EXPECT_THROW(JudgeScorer{config_for("ftp://127.0.0.1/v1")}, Error);
}

TEST(Judge, EndpointFromBaseUrl) {
  Endpoint a = parse_endpoint("http://127.0.0.1:8000/v1");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, "8000");
  EXPECT_EQ(a.target, "/v1/chat/completions");
  EXPECT_EQ(a.url, "http://127.0.0.1:8000/v1/chat/completions");
  Endpoint b = parse_endpoint("http://localhost");
  EXPECT_EQ(b.port, "80");
  EXPECT_EQ(b.target, "/v1/chat/completions");
  Endpoint c = parse_endpoint("http://[::1]:9000/proxy/v1/chat/completions");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, "9000");
  EXPECT_EQ(c.target, "/proxy/v1/chat/completions");
  EXPECT_EQ(parse_endpoint("http://h:1/openai/v1/").target, "/openai/v1/chat/completions");
  EXPECT_THROW(parse_endpoint("http://:80/v1"), Error);
  EXPECT_THROW(parse_endpoint("http://h:99999/v1"), Error);
  EXPECT_THROW(parse_endpoint("http://h:port/v1"), Error);
  EXPECT_THROW(parse_endpoint("127.0.0.1:8000"), Error);
}

TEST(Judge, FirstNumber) {
  EXPECT_EQ(first_number("0.8"), 0.8);
  EXPECT_EQ(first_number("Score: 0.25."), 0.25);
  EXPECT_EQ(first_number("answer: -1"), -1.0);
  EXPECT_EQ(first_number(".5"), 0.5);
  EXPECT_EQ(first_number("1e5"), 1.0);  // the first number, not an exponent form
  EXPECT_FALSE(first_number("none").has_value());
  EXPECT_FALSE(first_number("").has_value());
  EXPECT_FALSE(first_number("end.").has_value());
}

}  // namespace
}  // namespace pgenrm::chain
