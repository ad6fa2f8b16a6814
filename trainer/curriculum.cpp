#include "trainer/curriculum.h"

#include <cstdlib>
#include <sstream>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace pgenrm::trainer {

namespace {
uint64_t next(uint64_t& s) {  // SplitMix64: the same stream on every platform
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double uniform(uint64_t& s) { return static_cast<double>(next(s) >> 11) * 0x1.0p-53; }
}  // namespace

double hard_share_at(const CurriculumSpec& s, int64_t step) {
  const double t = s.steps <= 1 ? 1.0 : std::clamp(static_cast<double>(step) / (s.steps - 1), 0.0, 1.0);
  if (s.schedule == "step") {
    const int64_t levels = std::max<int64_t>(2, s.levels);
    const double level = std::min<double>(levels - 1, std::floor(t * levels));
    return s.p0 + (s.p1 - s.p0) * level / (levels - 1);
  }
  PGENRM_CHECK(s.schedule == "linear", "unknown curriculum schedule '" + s.schedule + "'",
               "use linear or step");
  return s.p0 + (s.p1 - s.p0) * t;
}

CurriculumSampler::CurriculumSampler(std::vector<size_t> pairs, std::vector<bool> hard,
                                     CurriculumSpec spec, uint64_t seed)
    : pairs_(std::move(pairs)), spec_(std::move(spec)), state_(seed) {
  PGENRM_CHECK(pairs_.size() == hard.size() && !pairs_.empty(),
               "curriculum needs a non-empty pair list with one flag per pair",
               "the training split has no pairs?");
  PGENRM_CHECK(spec_.hard == "population" || spec_.hard == "low_accuracy" || spec_.hard == "either",
               "unknown hard-negative definition '" + spec_.hard + "'",
               "use population, low_accuracy or either");
  for (size_t i = 0; i < pairs_.size(); ++i) population_[pairs_[i]] = hard[i];
}

bool CurriculumSampler::is_hard(size_t pair) const {
  const bool pop = population_.at(pair);
  auto it = accuracy_.find(pair);
  const bool low = it != accuracy_.end() && it->second < spec_.low_accuracy_threshold;
  if (spec_.hard == "population") return pop;
  if (spec_.hard == "low_accuracy") return low;
  return pop || low;
}

void CurriculumSampler::record_accuracy(size_t pair, double accuracy) { accuracy_[pair] = accuracy; }

std::string CurriculumSampler::state_text() const {
  std::ostringstream os;
  os << state_ << " " << accuracy_.size() << std::hexfloat;
  for (const auto& [pair, acc] : accuracy_) os << " " << pair << " " << acc;
  return os.str();
}

void CurriculumSampler::restore_state(const std::string& text) {
  std::istringstream is(text);
  uint64_t state = 0;
  size_t n = 0;
  is >> state >> n;
  std::map<size_t, double> acc;
  for (size_t k = 0; k < n && is; ++k) {
    size_t pair = 0;
    std::string a;
    is >> pair >> a;
    char* end = nullptr;
    const double v = std::strtod(a.c_str(), &end);
    PGENRM_CHECK(end && *end == 0 && !a.empty(), "curriculum state: accuracy '" + a + "' is not a number",
                 "the checkpoint's /data/stage is damaged; resume from an older checkpoint");
    acc[pair] = v;
  }
  PGENRM_CHECK(!is.fail() && acc.size() == n, "curriculum state does not parse (" + text.substr(0, 60) + "...)",
               "the checkpoint's /data/stage is damaged; resume from an older checkpoint");
  state_ = state;
  accuracy_ = std::move(acc);
}

size_t CurriculumSampler::draw(bool hard) {
  // Rejection from the whole list keeps the pools current as accuracies
  // change; bounded so an empty pool falls back to any pair.
  for (int tries = 0; tries < 4096; ++tries) {
    const size_t p = pairs_[next(state_) % pairs_.size()];
    if (is_hard(p) == hard) return p;
  }
  return pairs_[next(state_) % pairs_.size()];
}

std::vector<size_t> CurriculumSampler::batch(int64_t step, int64_t n, double* realised) {
  const double p = hard_share_at(spec_, step);
  std::vector<size_t> out;
  int64_t hard = 0;
  for (int64_t i = 0; i < n; ++i) {
    const size_t pair = draw(uniform(state_) < p);
    hard += is_hard(pair);
    out.push_back(pair);
  }
  if (realised) *realised = n ? static_cast<double>(hard) / n : 0.0;
  return out;
}

}  // namespace pgenrm::trainer
