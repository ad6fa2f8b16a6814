// Response-order shuffling: scores map back to the original order, seeds are
// deterministic (pinned by a golden order), every permutation occurs and
// occurs about equally often.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "chain/parse.h"
#include "chain/render.h"
#include "chain/rewards.h"
#include "chain/shuffle.h"
#include "chain_fixtures.h"
#include "core/error.h"

namespace pgenrm::chain {
namespace {

TEST(Shuffle, ScoresMapBackToTheOriginalOrder) {
  for (std::size_t n = 2; n <= 5; ++n) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
      Shuffle s(n, seed);
      std::vector<double> original(n);
      for (std::size_t i = 0; i < n; ++i) original[i] = 1.0 + static_cast<double>(i);
      // The chain scores what it is shown: response at prompt position p is
      // original[original_at(p)].
      std::vector<double> prompt = s.to_prompt_order(original);
      for (std::size_t p = 0; p < n; ++p) {
        EXPECT_EQ(prompt[p], original[s.original_at(p)]);
        EXPECT_EQ(s.prompt_position(s.original_at(p)), p);
      }
      EXPECT_EQ(s.to_original(prompt), original);
    }
  }
}

TEST(Shuffle, SameSeedSameOrderAndAGoldenOrderPinsTheGenerator) {
  for (std::uint64_t seed : {0ull, 1ull, 42ull, 0xFFFFFFFFFFFFFFFFull}) {
    EXPECT_EQ(Shuffle(5, seed).order(), Shuffle(5, seed).order());
  }
  // Changing the generator would silently change every seeded experiment.
  EXPECT_EQ(Shuffle(5, 42).order(), (std::vector<std::size_t>{1, 2, 0, 4, 3}));
}

TEST(Shuffle, EveryPermutationOccursAboutEquallyOften) {
  for (std::size_t n = 2; n <= 5; ++n) {
    std::size_t n_perms = 1;
    for (std::size_t i = 2; i <= n; ++i) n_perms *= i;
    const std::size_t draws = 200 * n_perms;
    std::map<std::vector<std::size_t>, std::size_t> seen;
    for (std::uint64_t seed = 0; seed < draws; ++seed) ++seen[Shuffle(n, seed).order()];
    EXPECT_EQ(seen.size(), n_perms) << "n = " << n;
    for (const auto& [perm, count] : seen) {
      // 200 expected; ±60 is more than 4 standard deviations (√200 ≈ 14).
      EXPECT_GT(count, 140u) << "n = " << n;
      EXPECT_LT(count, 260u) << "n = " << n;
    }
  }
}

TEST(Shuffle, IdentityKeepsTheOrder) {
  Shuffle s = Shuffle::identity(3);
  EXPECT_EQ(s.order(), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(s.to_original({3.0, 2.0, 1.0}), (std::vector<double>{3.0, 2.0, 1.0}));
}

TEST(Shuffle, RejectsWrongSizes) {
  EXPECT_THROW(Shuffle(1, 0), Error);
  EXPECT_THROW(Shuffle::identity(0), Error);
  Shuffle s(3, 9);
  EXPECT_THROW(s.to_original({1.0, 2.0}), Error);
  EXPECT_THROW(s.original_at(3), Error);
  EXPECT_THROW(s.prompt_position(7), Error);
}

// The whole path: responses shuffled into the prompt, the chain scores them
// in prompt order, the scores come back in original order, OR is computed on
// original indices.
TEST(Shuffle, EndToEndWithAParsedChain) {
  int n_swapped = 0;
  for (std::uint64_t seed = 0; seed < 16; ++seed) {
    Shuffle s(2, seed);
    const std::size_t chosen = 0, rejected = 1;  // original indices
    // The model (correctly) gives the chosen response 8s and the rejected 3s.
    Chain c = testing::example_chain();
    c.scores[s.prompt_position(chosen)] = {8, 8};
    c.scores[s.prompt_position(rejected)] = {3, 3};
    c.stated_totals.clear();
    ParseResult r = parse(render(c), 2);
    ASSERT_TRUE(r.ok()) << r.message;
    std::vector<double> original = s.to_original(*extract_scores(r));
    EXPECT_EQ(original, (std::vector<double>{8.0, 3.0}));
    EXPECT_EQ(outcome_reward(original, chosen, rejected), 1.0);
    EXPECT_EQ(outcome_reward(r, s.prompt_position(chosen), s.prompt_position(rejected)), 1.0);
    n_swapped += s.original_at(0) == 1;
  }
  EXPECT_GT(n_swapped, 0);  // the test saw both orders
  EXPECT_LT(n_swapped, 16);
}

}  // namespace
}  // namespace pgenrm::chain
