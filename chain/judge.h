// The LLM-judge process-reward scorer: asks a model behind an
// OpenAI-compatible /v1/chat/completions endpoint (vLLM, llama.cpp server,
// SGLang, ...) how well a chain's criteria cover the user's, and reads one
// number in [0,1] from its reply (DESIGN.md §4; the paper's PR is such a
// judge). Plain http only: https is not supported — put a TLS endpoint behind
// a local plain-http proxy. It never writes chains and never touches tensors.
//
// One request per score() call, each on its own io_context: calls from
// several threads do not share state. Every failure (refused connection,
// timeout, HTTP error, a reply that is not a chat completion or holds no
// number) throws pgenrm::Error naming the URL and what to fix; a trainer that
// prefers to carry on can catch it and fall back to the RuleScorer.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/rewards.h"

namespace pgenrm::chain {

struct JudgeConfig {
  // Base URL "http://host:port[/prefix]": "/v1/chat/completions" is appended
  // to a bare host, "/chat/completions" to any other path, and a URL that
  // already ends in "/chat/completions" is used as is.
  std::string url = "http://127.0.0.1:8000/v1";
  std::string model;    // required: the model name the server serves
  std::string api_key;  // optional: sent as "Authorization: Bearer <key>"
  std::chrono::milliseconds timeout{60000};  // per step: connect, send, receive
  int max_tokens = 16;                       // the answer is one number
  std::string system_prompt;                 // empty = kJudgeSystemPrompt
};

extern const char* const kJudgeSystemPrompt;

// Where a request goes, from JudgeConfig::url.
struct Endpoint {
  std::string host;    // "127.0.0.1", "::1" (brackets removed), "judge.local"
  std::string port;    // "8000"; 80 when the URL names none
  std::string target;  // "/v1/chat/completions"
  std::string url;     // the full URL, for messages
};
// Throws pgenrm::Error on https://, a missing host, or a bad port.
Endpoint parse_endpoint(const std::string& base_url);

class JudgeScorer : public ProcessScorer {
 public:
  // Validates the URL and the model name now, so a misconfigured run fails
  // at start-up rather than at the first CRE step.
  explicit JudgeScorer(JudgeConfig config);

  // PR ∈ [0,1] from the judge. No user criteria → kNoUserCriteriaReward and
  // no chain criteria → 0, both without a request.
  double score(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const override;

  // The JSON body score() posts: model, temperature 0, max_tokens, and the
  // system + user messages listing both sets of criteria.
  std::string request_body(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const;

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  std::string post(const std::string& body) const;  // the reply body of an HTTP 200

  JudgeConfig config_;
  Endpoint endpoint_;
};

// choices[0].message.content of a chat-completion reply → its first number,
// clamped to [0,1]. Throws pgenrm::Error (naming `url`) on anything else.
double judge_score_from_reply(const std::string& reply_body, const std::string& url);

// The first decimal number in `text` ("Score: 0.8" → 0.8, "-1" → -1). A
// judge that answers "8/10" yields 8, clamped to 1 by the caller: the prompt
// asks for [0,1], and guessing scales would hide a misbehaving judge.
std::optional<double> first_number(std::string_view text);

}  // namespace pgenrm::chain
