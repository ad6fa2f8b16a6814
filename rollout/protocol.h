// What travels between the learners and the rollout workers through the
// coordinator (coordinator/ carries these as opaque strings).
//
//   Request — one prompt of a GRPO step: which pair and history draw the
//             worker rebuilds the prompt from (it holds the same data), a
//             hash of the prompt's token ids it must reproduce, the
//             sampling parameters, and the oldest weights version allowed.
//   Result  — the G chains of that prompt: token ids, the rollout log-probs
//             of the sampled tokens, each chain's reward parts and parsed
//             totals, and the weights version that produced them.
//   Notice  — what learner 0 tells every worker through lease replies: the
//             current weights version (with its checksum and, for workers
//             outside MPI, the file it is published in) and "stop".
//
// Parsing is strict: a missing field, a wrong type or a count that does not
// match throws pgenrm::Error naming the field, so a mismatched worker (other
// build, other config) fails loudly instead of training on garbage.
//
// What it deliberately doesn't: run the model, compute rewards, or talk to
// sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgenrm::rollout {

struct Request {
  std::string stage;           // "cre" | "curriculum": which reward
  std::string prompt = "cre";  // "cre" | "psi": which prompt the worker rebuilds
  int64_t step = 0;            // the stage's optimizer step
  int64_t index = 0;           // the prompt's place in the step's batch
  int64_t pair = 0;            // dataset pair index
  uint64_t prompt_seed = 0;    // seed of the prompt's history draw and order
  uint64_t prompt_hash = 0;    // hash_ids of the prompt the learner built
  uint64_t seed = 0;           // sampling seed of the step
  int64_t group = 1;           // G chains
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0, max_new_tokens = 64, pad_id = 0;
  std::vector<int64_t> stop_ids;
  int64_t min_version = 0;     // weights at least this version
};

struct ChainOut {
  std::vector<int64_t> tokens;
  std::vector<float> logprobs;  // of each sampled token under the sampling distribution
  double reward = 0, outcome = 0, process = 0;
  bool format_error = false;
  std::vector<double> totals;   // the chain's weighted totals (A, B); empty if it did not parse
};

struct Result {
  int64_t index = 0;
  int64_t version = -1;  // weights version that produced the chains
  std::vector<ChainOut> chains;
  int64_t prompt_tokens = 0, generated_tokens = 0;
  double seconds = 0;
  std::string worker;
  std::string error;  // non-empty: the worker could not serve this item (says why)
};

struct Notice {
  int64_t version = -1;
  uint64_t checksum = 0;  // comm::checksum_tensors of the weights
  std::string file;       // published weights for workers outside MPI ("" = none)
  bool stop = false;
};

uint64_t hash_ids(const std::vector<int64_t>& ids);

std::string to_json(const Request& r);
std::string to_json(const Result& r);
std::string to_json(const Notice& n);
Request request_from_json(const std::string& text);
// `group`: the number of chains the learner asked for (checked).
Result result_from_json(const std::string& text, int64_t group);
// An empty string is the notice of nothing published yet.
Notice notice_from_json(const std::string& text);

}  // namespace pgenrm::rollout
