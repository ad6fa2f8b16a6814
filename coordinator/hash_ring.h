// Consistent hashing of users onto rollout workers.
//
// What it does: places each worker at `virtual_nodes` points of a 64-bit
// ring (hash of "worker#i"); a user belongs to the first worker point at or
// after the user's hash. When a worker joins or leaves, only the users in
// the arcs it gains or loses move (~1/N of them), so a user's history
// prefix stays cached on one rollout worker while that worker lives.
// The hash is our own (FNV-1a + a 64-bit finaliser), not std::hash: the
// placement must be the same in every process and after a restore.
// What it deliberately doesn't: balance load beyond what virtual nodes give,
// or know about leases (scheduler.h).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgenrm::coordinator {

uint64_t stable_hash(std::string_view s);

class HashRing {
 public:
  explicit HashRing(int virtual_nodes = 64) : vnodes_(virtual_nodes) {}

  void add(const std::string& worker);
  void remove(const std::string& worker);
  bool contains(const std::string& worker) const { return workers_.count(worker) > 0; }
  bool empty() const { return workers_.empty(); }
  // "" when the ring is empty.
  std::string owner(std::string_view user) const;
  std::vector<std::string> workers() const { return {workers_.begin(), workers_.end()}; }
  int virtual_nodes() const { return vnodes_; }

 private:
  int vnodes_;
  std::map<uint64_t, std::string> points_;
  std::set<std::string> workers_;
};

}  // namespace pgenrm::coordinator
