// The LLM-judge PR scorer: prompt building, one HTTP/1.1 POST with Boost.Beast
// and reading the chat-completion reply. The HTTP exchange is asynchronous on
// a private io_context only because Beast's timeouts apply to async
// operations; score() itself blocks until the reply or an error.
#include "chain/judge.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::chain {

const char* const kJudgeSystemPrompt =
    "You check the criteria of an evaluation chain written by a personalised reward model. "
    "You are given the criteria a user holds, with their relative importance, and the weighted "
    "criteria the chain derived. Rate how well the chain's criteria cover the user's criteria: "
    "1 means every user criterion is covered (under any wording) with emphasis close to the "
    "user's, 0 means none is covered. Extra chain criteria are neither rewarded nor penalised. "
    "Answer with a single number between 0 and 1 and nothing else.";

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr const char* kUrlHint =
    "set the judge URL to the plain-http base of an OpenAI-compatible server, e.g. "
    "http://127.0.0.1:8000/v1 (https is not supported: put a local http proxy in front)";

std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 200;
  std::string out(s.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "'" + out + (s.size() > kMax ? "...'" : "'");
}

std::string format_fraction(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

// Splits "host:port" (or "[v6]:port") from the authority of a URL.
void split_authority(std::string_view authority, const std::string& url, Endpoint& ep) {
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    PGENRM_CHECK(close != std::string_view::npos, "judge URL " + url + " has an unclosed '['", kUrlHint);
    ep.host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    PGENRM_CHECK(rest.empty() || rest.front() == ':', "judge URL " + url + " has text after ']'", kUrlHint);
    if (!rest.empty()) port = rest.substr(1);
  } else {
    std::size_t colon = authority.rfind(':');
    ep.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  PGENRM_CHECK(!ep.host.empty(), "judge URL " + url + " names no host", kUrlHint);
  int n = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  PGENRM_CHECK(port.empty() || (ec == std::errc() && ptr == port.data() + port.size() && n > 0 && n < 65536),
               "judge URL " + url + " has port '" + std::string(port) + "'", kUrlHint);
  ep.port = port.empty() ? "80" : std::string(port);
}

std::string target_for(std::string path) {
  constexpr std::string_view kSuffix = "/chat/completions";
  if (path.empty() || path == "/") return "/v1/chat/completions";
  if (path.size() >= kSuffix.size() && path.compare(path.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
    return path;
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path + std::string(kSuffix);
}

std::string user_message(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) {
  const std::vector<double> w = normalised_user_weights(user);
  std::string s = "User criteria (importance, sums to 1):\n";
  for (std::size_t i = 0; i < user.size(); ++i) s += "- " + user[i].name + " (" + format_fraction(w[i]) + ")\n";
  s += "\nChain criteria (weight %):\n";
  for (const Criterion& c : chain) s += "- " + c.name + " (" + std::to_string(c.weight) + "%)\n";
  s += "\nCoverage score in [0, 1]:";
  return s;
}

// The outcome of one asynchronous exchange: which step failed, and how.
struct Exchange {
  beast::error_code ec;
  const char* step = "";
  http::response<http::string_body> response;
};

// POST `req` to `ep`, each step (connect, write, read) bounded by `timeout`.
Exchange exchange(const Endpoint& ep, http::request<http::string_body>& req, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  Exchange out;
  auto failed = [&out](beast::error_code ec, const char* step) {
    out.ec = ec;
    out.step = step;
    return static_cast<bool>(ec);
  };
  resolver.async_resolve(ep.host, ep.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (failed(ec, "resolve the host")) return;
    stream.expires_after(timeout);
    stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
      if (failed(ec, "connect")) return;
      stream.expires_after(timeout);
      http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (failed(ec, "send the request")) return;
        stream.expires_after(timeout);
        http::async_read(stream, buffer, out.response, [&](beast::error_code ec, std::size_t) {
          failed(ec, "read the reply");
        });
      });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace

Endpoint parse_endpoint(const std::string& base_url) {
  constexpr std::string_view kScheme = "http://";
  PGENRM_CHECK(base_url.rfind("https://", 0) != 0, "judge URL " + base_url + " uses https, which is not supported",
               kUrlHint);
  PGENRM_CHECK(base_url.rfind(kScheme, 0) == 0, "judge URL '" + base_url + "' does not start with http://", kUrlHint);
  Endpoint ep;
  ep.url = base_url;
  std::string_view rest = std::string_view(base_url).substr(kScheme.size());
  std::size_t slash = rest.find('/');
  split_authority(rest.substr(0, slash), base_url, ep);
  ep.target = target_for(slash == std::string_view::npos ? "" : std::string(rest.substr(slash)));
  ep.url = "http://" + std::string(rest.substr(0, slash)) + ep.target;
  return ep;
}

std::optional<double> first_number(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    const bool dot_digit = text[i] == '.' && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9';
    if (!digit && !dot_digit) continue;
    std::size_t start = (i > 0 && text[i - 1] == '-') ? i - 1 : i;
    double value = 0.0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + text.size(), value,
                                     std::chars_format::fixed);
    if (ec == std::errc()) return value;
    return std::nullopt;  // a digit run from_chars rejects: too long to be a score
  }
  return std::nullopt;
}

double judge_score_from_reply(const std::string& reply_body, const std::string& url) {
  const std::string hint = "point the judge URL at an OpenAI-compatible chat-completions endpoint";
  nlohmann::json j = nlohmann::json::parse(reply_body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* content = nullptr;
  if (j.is_object() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
    const nlohmann::json& choice = j["choices"][0];
    if (choice.is_object() && choice.contains("message") && choice["message"].is_object() &&
        choice["message"].contains("content") && choice["message"]["content"].is_string()) {
      content = &choice["message"]["content"];
    }
  }
  PGENRM_CHECK(content != nullptr,
               "the judge at " + url + " sent a reply without choices[0].message.content: " + excerpt(reply_body),
               hint);
  const std::string& text = content->get_ref<const std::string&>();
  std::optional<double> x = first_number(text);
  PGENRM_CHECK(x.has_value(), "the judge at " + url + " answered without a number: " + excerpt(text),
               "use a judge model that follows the instruction to answer with one number in [0, 1], "
               "or adjust the judge system prompt");
  return std::clamp(*x, 0.0, 1.0);
}

JudgeScorer::JudgeScorer(JudgeConfig config) : config_(std::move(config)), endpoint_(parse_endpoint(config_.url)) {
  PGENRM_CHECK(!config_.model.empty(), "no judge model name given for " + endpoint_.url,
               "set the judge model to the name the server serves (GET " + endpoint_.host + ":" + endpoint_.port +
                   "/v1/models lists them)");
  PGENRM_CHECK(config_.timeout.count() > 0, "judge timeout must be positive", "set a timeout in milliseconds > 0");
  PGENRM_CHECK(config_.max_tokens > 0, "judge max_tokens must be positive", "the answer needs at least one token");
}

std::string JudgeScorer::request_body(const std::vector<UserCriterion>& user,
                                      const std::vector<Criterion>& chain) const {
  const std::string& system = config_.system_prompt.empty() ? std::string(kJudgeSystemPrompt) : config_.system_prompt;
  nlohmann::json body = {
      {"model", config_.model},
      {"temperature", 0},
      {"max_tokens", config_.max_tokens},
      {"messages",
       nlohmann::json::array({{{"role", "system"}, {"content", system}},
                              {{"role", "user"}, {"content", user_message(user, chain)}}})},
  };
  return body.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

double JudgeScorer::score(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const {
  if (user.empty()) return kNoUserCriteriaReward;
  if (chain.empty()) return 0.0;
  return judge_score_from_reply(post(request_body(user, chain)), endpoint_.url);
}

std::string JudgeScorer::post(const std::string& body) const {
  http::request<http::string_body> req{http::verb::post, endpoint_.target, 11};
  req.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "pgenrm-judge");
  if (!config_.api_key.empty()) req.set(http::field::authorization, "Bearer " + config_.api_key);
  req.body() = body;
  req.prepare_payload();

  Exchange ex = exchange(endpoint_, req, config_.timeout);
  if (ex.ec == beast::error::timeout) {
    throw Error("the judge at " + endpoint_.url + " did not answer within " +
                    std::to_string(config_.timeout.count()) + " ms (step: " + ex.step + ")",
                "check that the server is up and not overloaded, or raise the judge timeout");
  }
  if (ex.ec) {
    throw Error("cannot " + std::string(ex.step) + " for the judge at " + endpoint_.url + ": " + ex.ec.message(),
                "start the OpenAI-compatible server (e.g. `vllm serve <model> --port " + endpoint_.port +
                    "`) or fix the judge URL");
  }
  const unsigned status = ex.response.result_int();
  if (status != 200) {
    throw Error("the judge at " + endpoint_.url + " answered HTTP " + std::to_string(status) + ": " +
                    excerpt(ex.response.body()),
                "check the judge model name '" + config_.model + "' and the server's log");
  }
  return std::move(ex.response.body());
}

}  // namespace pgenrm::chain
