// Consistent hashing: stable placement, and only ~1/N of users move when a
// worker joins or leaves (the rest keep their warm prefix caches).
#include <gtest/gtest.h>

#include <map>

#include "coordinator/hash_ring.h"

namespace pgenrm::coordinator {
namespace {

std::map<std::string, std::string> place(const HashRing& r, int users) {
  std::map<std::string, std::string> m;
  for (int u = 0; u < users; ++u) m["user" + std::to_string(u)] = r.owner("user" + std::to_string(u));
  return m;
}

TEST(HashRing, EmptyRingOwnsNothingAndPlacementIsDeterministic) {
  HashRing r;
  EXPECT_EQ(r.owner("alice"), "");
  r.add("w0");
  r.add("w1");
  HashRing again;
  again.add("w1");  // insertion order does not matter
  again.add("w0");
  EXPECT_EQ(place(r, 500), place(again, 500));
}

TEST(HashRing, JoinMovesAboutOneNthAndOnlyToTheNewcomer) {
  HashRing r(/*virtual_nodes=*/128);
  for (int w = 0; w < 4; ++w) r.add("w" + std::to_string(w));
  const int kUsers = 4000;
  const auto before = place(r, kUsers);
  std::map<std::string, int> load;
  for (const auto& [u, w] : before) ++load[w];
  for (const auto& [w, n] : load) EXPECT_GT(n, kUsers / 4 / 2) << w << " is starved";
  r.add("w4");
  const auto after = place(r, kUsers);
  int moved = 0;
  for (const auto& [u, w] : before)
    if (after.at(u) != w) {
      ++moved;
      EXPECT_EQ(after.at(u), "w4") << u << " moved between old workers";
    }
  // Ideal 1/5 = 800; a broken (mod-N) placement moves ~80%.
  EXPECT_GT(moved, kUsers / 5 / 2);
  EXPECT_LT(moved, kUsers / 5 * 2);
}

TEST(HashRing, LeaveMovesOnlyTheLeaversUsers) {
  HashRing r;
  for (int w = 0; w < 5; ++w) r.add("w" + std::to_string(w));
  const auto before = place(r, 3000);
  r.remove("w2");
  EXPECT_FALSE(r.contains("w2"));
  const auto after = place(r, 3000);
  for (const auto& [u, w] : before) {
    if (w == "w2") {
      EXPECT_NE(after.at(u), "w2");
    } else {
      EXPECT_EQ(after.at(u), w) << u;
    }
  }
}

}  // namespace
}  // namespace pgenrm::coordinator
