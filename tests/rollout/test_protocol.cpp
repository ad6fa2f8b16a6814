// Requests, results and notices between learners and rollout workers:
// round trips keep every field; a result with the wrong number of chains,
// tokens without log-probs, a missing field or a wrong type is refused
// naming what is wrong (a mismatched worker must fail loudly).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "rollout/protocol.h"
#include "rollout/weights.h"

using namespace pgenrm::rollout;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pgenrm::Error& e) {
    return e.what();
  }
  return "";
}

Result two_chains() {
  Result r;
  r.index = 5;
  r.version = 7;
  r.prompt_tokens = 40;
  r.generated_tokens = 9;
  r.seconds = 0.25;
  for (int k = 0; k < 2; ++k) {
    ChainOut c;
    c.tokens = {1, 2, 3 + k};
    c.logprobs = {-0.5f, -1.25f, -2.0f - k};
    c.reward = 1.5 - k;
    c.outcome = 1 - k;
    c.process = 0.5;
    c.format_error = k == 1;
    if (k == 0) c.totals = {7.5, 6.25};
    r.chains.push_back(c);
  }
  return r;
}

}  // namespace

TEST(RolloutProtocol, RoundTripsKeepEveryField) {
  Request q;
  q.stage = "curriculum";
  q.step = 12;
  q.index = 3;
  q.pair = 991;
  q.prompt_seed = 18446744073709551557ULL;  // needs all 64 bits
  q.prompt_hash = hash_ids({4, 5, 6});
  q.seed = 42;
  q.group = 8;
  q.temperature = 0.7;
  q.top_p = 0.9;
  q.top_k = 20;
  q.max_new_tokens = 160;
  q.pad_id = 1;
  q.stop_ids = {2, 9};
  q.min_version = 4;
  const Request b = request_from_json(to_json(q));
  EXPECT_EQ(b.stage, q.stage);
  EXPECT_EQ(b.prompt_seed, q.prompt_seed);
  EXPECT_EQ(b.prompt_hash, q.prompt_hash);
  EXPECT_EQ(b.stop_ids, q.stop_ids);
  EXPECT_EQ(b.min_version, 4);
  EXPECT_DOUBLE_EQ(b.top_p, 0.9);
  EXPECT_EQ(b.index, 3);

  const Result r = two_chains();
  const Result back = result_from_json(to_json(r), 2);
  ASSERT_EQ(back.chains.size(), 2u);
  EXPECT_EQ(back.version, 7);
  EXPECT_EQ(back.chains[1].tokens, r.chains[1].tokens);
  EXPECT_EQ(back.chains[1].logprobs, r.chains[1].logprobs);
  EXPECT_TRUE(back.chains[1].format_error);
  EXPECT_EQ(back.chains[0].totals, r.chains[0].totals);
  EXPECT_TRUE(back.chains[1].totals.empty());

  Notice n;
  n.version = 9;
  n.checksum = 0xfedcba9876543210ULL;
  n.file = "/runs/x/rollout_weights/weights-v9.safetensors";
  const Notice nb = notice_from_json(to_json(n));
  EXPECT_EQ(nb.version, 9);
  EXPECT_EQ(nb.checksum, n.checksum);
  EXPECT_EQ(nb.file, n.file);
  EXPECT_FALSE(nb.stop);
  EXPECT_EQ(notice_from_json("").version, -1) << "nothing published yet";
}

TEST(RolloutProtocol, HashSeesOrderAndValues) {
  EXPECT_NE(hash_ids({1, 2}), hash_ids({2, 1}));
  EXPECT_NE(hash_ids({1}), hash_ids({1, 0}));
  EXPECT_EQ(hash_ids({5, 6, 7}), hash_ids({5, 6, 7}));
}

TEST(RolloutProtocol, BadMessagesAreRefusedNamingTheFault) {
  const std::string ok = to_json(two_chains());
  EXPECT_NE(error_of([&] { result_from_json(ok, 3); }).find("holds 2 chains, 3 were asked for"), std::string::npos);
  std::string no_lp = ok;
  no_lp.replace(no_lp.find("\"logprobs\":[-0.5,"), 17, "\"logprobs\":[");
  EXPECT_NE(error_of([&] { result_from_json(no_lp, 2); }).find("log-probs"), std::string::npos) << no_lp;
  EXPECT_NE(error_of([&] { request_from_json("{\"stage\":\"cre\"}"); }).find("lacks the field 'prompt'"),
            std::string::npos);
  Request q;
  q.stage = "cre";
  std::string wrong = to_json(q);
  wrong.replace(wrong.find("\"group\":1"), 9, "\"group\":\"8\"");
  EXPECT_NE(error_of([&] { request_from_json(wrong); }).find("'group' has the wrong type"), std::string::npos);
  EXPECT_NE(error_of([&] { request_from_json("not json"); }).find("not valid JSON"), std::string::npos);
  q.stage = "pretrain";
  EXPECT_NE(error_of([&] { request_from_json(to_json(q)); }).find("unknown stage"), std::string::npos);
  // A worker's own error comes back as a result with the error set.
  Result e;
  e.index = 1;
  e.error = "prompt differs";
  EXPECT_EQ(result_from_json(to_json(e), 8).error, "prompt differs");
}

TEST(RolloutWeights, PublishedFileLoadsAndADamagedOneIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("pgenrm_rw_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::map<std::string, at::Tensor> st = {{"a", at::arange(6, at::kFloat)}, {"b", at::ones({2, 3})}};
  const Published p = publish_weights_file(dir.string(), 1, st, /*keep=*/2);
  auto back = load_weights_file(p.file, 1, p.checksum);
  EXPECT_TRUE(back.at("a").equal(st.at("a")));
  EXPECT_NE(error_of([&] { load_weights_file(p.file, 1, p.checksum ^ 1); }).find("checksum"), std::string::npos);
  // Older versions beyond `keep` are removed.
  publish_weights_file(dir.string(), 2, st, 2);
  publish_weights_file(dir.string(), 3, st, 2);
  EXPECT_FALSE(fs::exists(dir / "weights-v1.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "weights-v2.safetensors"));
  EXPECT_NE(error_of([&] { load_weights_file((dir / "weights-v1.safetensors").string(), 1, 0); }).find("not found"),
            std::string::npos);
  fs::remove_all(dir);
}
