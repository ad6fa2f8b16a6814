// Reproducible randomness for PersonaWorld: an explicit std::mt19937_64
// engine (its output sequence is fixed by the C++ standard) plus our own
// uniform, normal (Box–Muller), gamma (Marsaglia–Tsang), Dirichlet and
// shuffle, because libstdc++/libc++ distributions are implementation-defined
// and the generator promises byte-identical files for the same seed.
//
// Seeds of independent streams are derived by hashing (seed, tag, id), so a
// draw for one user or pair never depends on the order others were drawn in.
//
// Not here: anything that knows what is being drawn.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace pgenrm::data {

// splitmix64 finaliser: a cheap bijective mix of 64 bits.
uint64_t mix64(uint64_t x);
// FNV-1a over the bytes of `s`, then mixed.
uint64_t hash_string(std::string_view s);
// A seed for the stream named `tag` (and optional `id`) under base `seed`.
uint64_t derive_seed(uint64_t seed, std::string_view tag, std::string_view id = {});
uint64_t derive_seed(uint64_t seed, std::string_view tag, uint64_t index);

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }
  double uniform();          // [0, 1), 53 random bits
  double uniform_open();     // (0, 1): safe under log()
  int64_t below(int64_t n);  // [0, n); n > 0
  bool bernoulli(double p) { return uniform() < p; }
  double normal();             // standard normal, Box–Muller
  double gamma(double shape);  // Gamma(shape, 1), shape > 0
  std::vector<double> dirichlet(const std::vector<double>& alpha);

  // Fisher–Yates with below(): the same permutation on every platform.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i)
      std::swap(v[static_cast<size_t>(i)], v[static_cast<size_t>(below(i + 1))]);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace pgenrm::data
