// The hard-negative curriculum of stage 3 (DESIGN.md §6): each GRPO batch
// draws its prompts so that a share p(t) of them are hard negatives, p
// rising from p0 to p1 over the stage (linear, or in equal steps). Each slot
// is hard with probability p(t), so the realised share is p(t) up to
// binomial sampling error; it is returned for logging.
//
// "Hard" is selectable: `population` — the non-personalised scorer prefers
// the rejected response (the dataset's flag); `low_accuracy` — the current
// model's group accuracy on the pair at its last visit was below
// `low_accuracy_threshold`; `either`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pgenrm::trainer {

struct CurriculumSpec {
  double p0 = 0.2, p1 = 0.8;
  std::string schedule = "linear";  // linear | step
  int64_t levels = 4;               // step schedule: number of plateaus
  int64_t steps = 1;                // length of the stage
  std::string hard = "population";  // population | low_accuracy | either
  double low_accuracy_threshold = 0.5;
};

double hard_share_at(const CurriculumSpec& s, int64_t step);

class CurriculumSampler {
 public:
  // `pairs` with their population hard-negative flags (same length).
  CurriculumSampler(std::vector<size_t> pairs, std::vector<bool> population_hard, CurriculumSpec spec,
                    uint64_t seed);
  // n pair indices for `step`; *realised = share of hard ones drawn.
  std::vector<size_t> batch(int64_t step, int64_t n, double* realised);
  // The model's group accuracy on `pair` at this visit (low_accuracy mode).
  void record_accuracy(size_t pair, double accuracy);
  bool is_hard(size_t pair) const;
  // The sampler's position and recorded accuracies as text (exact: doubles
  // in hexadecimal), for checkpoints; restore_state refuses a damaged text.
  std::string state_text() const;
  void restore_state(const std::string& text);

 private:
  size_t draw(bool hard);
  std::vector<size_t> pairs_;
  std::map<size_t, bool> population_;
  std::map<size_t, double> accuracy_;
  CurriculumSpec spec_;
  uint64_t state_;
};

}  // namespace pgenrm::trainer
