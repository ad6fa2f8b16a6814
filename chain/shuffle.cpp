// Seeded permutations of the responses and the maps between prompt order and
// original order. No prompt text is built here (data/ renders prompts).
#include "chain/shuffle.h"

#include <numeric>
#include <string>

#include "core/error.h"

namespace pgenrm::chain {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (rejection of the short tail).
std::uint64_t uniform_below(std::uint64_t& state, std::uint64_t bound) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t x = splitmix64(state);
  while (x >= limit) x = splitmix64(state);
  return x % bound;
}

void check_count(std::size_t n) {
  PGENRM_CHECK(n >= 2, "cannot shuffle " + std::to_string(n) + " responses",
               "a chain compares at least 2 responses");
}

std::vector<std::size_t> seeded_order(std::size_t n, std::uint64_t seed) {
  check_count(n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::uint64_t state = seed;
  for (std::size_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[uniform_below(state, i + 1)]);
  }
  return order;
}

}  // namespace

Shuffle::Shuffle(std::size_t n, std::uint64_t seed) : Shuffle(seeded_order(n, seed)) {}

Shuffle::Shuffle(std::vector<std::size_t> original_at)
    : original_at_(std::move(original_at)), prompt_position_(original_at_.size()) {
  for (std::size_t p = 0; p < original_at_.size(); ++p) prompt_position_[original_at_[p]] = p;
}

Shuffle Shuffle::identity(std::size_t n) {
  check_count(n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  return Shuffle(std::move(order));
}

void Shuffle::check_size(std::size_t n) const {
  PGENRM_CHECK(n == size(), "a shuffle of " + std::to_string(size()) + " responses got " + std::to_string(n) + " items",
               "map exactly the responses this shuffle was made for");
}

void Shuffle::check_index(std::size_t i) const {
  PGENRM_CHECK(i < size(), "response index " + std::to_string(i) + " is out of range for a shuffle of " +
                               std::to_string(size()) + " responses",
               "indices are 0-based and below the number of responses");
}

std::size_t Shuffle::original_at(std::size_t prompt_pos) const {
  check_index(prompt_pos);
  return original_at_[prompt_pos];
}

std::size_t Shuffle::prompt_position(std::size_t original) const {
  check_index(original);
  return prompt_position_[original];
}

std::vector<double> Shuffle::to_original(const std::vector<double>& prompt_order) const {
  check_size(prompt_order.size());
  std::vector<double> out(size());
  for (std::size_t p = 0; p < size(); ++p) out[original_at_[p]] = prompt_order[p];
  return out;
}

}  // namespace pgenrm::chain
