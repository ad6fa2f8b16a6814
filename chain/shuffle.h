// Response-order shuffling against position bias (DESIGN.md §4): the
// responses are shown to the model in a seeded random order, and the scores
// the chain gives (in prompt order) are mapped back to the original order.
// The permutation comes from our own SplitMix64 + Fisher–Yates, not from
// std::shuffle, whose output differs between standard libraries: a seed gives
// the same order on every machine and compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pgenrm::chain {

class Shuffle {
 public:
  // A uniformly random permutation of n ≥ 2 responses, fixed by `seed`.
  // Throws pgenrm::Error for n < 2.
  Shuffle(std::size_t n, std::uint64_t seed);
  // The order left as is (evaluation without shuffling, tests).
  static Shuffle identity(std::size_t n);

  std::size_t size() const { return original_at_.size(); }
  // Which original response is shown at prompt position p.
  std::size_t original_at(std::size_t prompt_pos) const;
  // Where original response i is shown in the prompt.
  std::size_t prompt_position(std::size_t original) const;
  const std::vector<std::size_t>& order() const { return original_at_; }

  // items[i] in original order → the order the prompt shows them.
  template <class T>
  std::vector<T> to_prompt_order(const std::vector<T>& original) const {
    check_size(original.size());
    std::vector<T> out;
    out.reserve(original.size());
    for (std::size_t p = 0; p < size(); ++p) out.push_back(original[original_at_[p]]);
    return out;
  }
  // scores[p] in prompt order (what extract_scores gives) → original order.
  std::vector<double> to_original(const std::vector<double>& prompt_order) const;

 private:
  explicit Shuffle(std::vector<std::size_t> original_at);
  void check_size(std::size_t n) const;
  void check_index(std::size_t i) const;

  std::vector<std::size_t> original_at_;      // prompt position → original index
  std::vector<std::size_t> prompt_position_;  // original index → prompt position
};

}  // namespace pgenrm::chain
