// Hand-written distributions over std::mt19937_64 (see rng.h for why).
#include "data/rng.h"

#include <cmath>

#include "core/error.h"

namespace pgenrm::data {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_string(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h);
}

uint64_t derive_seed(uint64_t seed, std::string_view tag, std::string_view id) {
  return mix64(mix64(seed) ^ hash_string(tag) ^ mix64(hash_string(id) + 1));
}

uint64_t derive_seed(uint64_t seed, std::string_view tag, uint64_t index) {
  return mix64(mix64(seed) ^ hash_string(tag) ^ mix64(index + 0x51ed270b27e3ULL));
}

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::uniform_open() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }

int64_t Rng::below(int64_t n) {
  PGENRM_CHECK(n > 0, "Rng::below needs a positive bound", "");
  // Rejection keeps it exactly uniform; the loop almost never repeats.
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  uint64_t x;
  do x = engine_();
  while (x >= limit);
  return static_cast<int64_t>(x % un);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform_open()));
  const double theta = 2.0 * M_PI * uniform();
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

double Rng::gamma(double shape) {
  PGENRM_CHECK(shape > 0, "Rng::gamma needs a positive shape", "");
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a)  (Marsaglia–Tsang, section 6).
    const double g = gamma(shape + 1.0);
    return g * std::pow(uniform_open(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

std::vector<double> Rng::dirichlet(const std::vector<double>& alpha) {
  std::vector<double> g(alpha.size());
  double sum = 0.0;
  for (size_t i = 0; i < alpha.size(); ++i) sum += (g[i] = gamma(alpha[i]));
  for (double& x : g) x /= sum;
  return g;
}

}  // namespace pgenrm::data
