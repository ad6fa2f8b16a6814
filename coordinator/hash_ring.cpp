#include "coordinator/hash_ring.h"

namespace pgenrm::coordinator {

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // FNV alone clusters similar keys ("user1", "user2"); the finaliser
  // (splitmix64's) spreads them over the ring.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void HashRing::add(const std::string& worker) {
  if (!workers_.insert(worker).second) return;
  for (int i = 0; i < vnodes_; ++i) {
    // A collision of two points (64-bit, vanishingly rare) keeps the first
    // owner, which every process does the same way.
    points_.emplace(stable_hash(worker + "#" + std::to_string(i)), worker);
  }
}

void HashRing::remove(const std::string& worker) {
  if (!workers_.erase(worker)) return;
  for (auto it = points_.begin(); it != points_.end();)
    it = it->second == worker ? points_.erase(it) : std::next(it);
}

std::string HashRing::owner(std::string_view user) const {
  if (points_.empty()) return "";
  auto it = points_.lower_bound(stable_hash(user));
  if (it == points_.end()) it = points_.begin();
  return it->second;
}

}  // namespace pgenrm::coordinator
