// World calibration (issue 11): how much a reward model can gain from
// personalisation on this world, measured before anything is trained. Per
// split and user group:
//   bayes              E[max(p, 1 − p)]: the ceiling of a scorer that knows
//                      the user's true weights (computed, not measured)
//   oracle             that scorer's accuracy against the drawn labels
//   posterior_perceived  best achievable from the prompt: posterior-mean
//                      weights from h history pairs + stated criteria, with
//                      attributes read from the response words
//   posterior_true     the same with the true attributes (a reader that
//                      perceives perfectly)
//   posterior_history_only_perceived  the same without stated criteria: the
//                      ceiling of a CRE prompt (history only)
//   non_personalised   scenario-average weights (no user signal)
//   teacher            the teacher's first chain (no label seen)
//   random
// each also on the hard negatives, plus the paired gap ceiling − non-pers
// and each scorer's history sensitivity (verdicts changed by flipping the
// history).
// A tie counts as wrong and is reported.
//
// Not here: the model's own evaluation (the eval harness uses the same
// scorer interface, data/scorers.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "data/history.h"
#include "data/posterior.h"
#include "data/teacher.h"

namespace pgenrm::data {

struct Accuracy {
  int64_t n = 0, correct = 0, ties = 0;
  void add(bool correct_, bool tie);
  double value() const { return n ? double(correct) / double(n) : 0.0; }
  double se() const;  // binomial standard error sqrt(a(1 − a)/n)
};

// Mean and standard error of a per-pair quantity (a paired difference).
struct MeanSe {
  int64_t n = 0;
  double sum = 0, sum_sq = 0;
  void add(double x) { ++n, sum += x, sum_sq += x * x; }
  double mean() const { return n ? sum / double(n) : 0.0; }
  double se() const;
};

struct CalibrationCell {
  Split split = Split::kTest;
  Group group = Group::kAll;
  MeanSe bayes;
  std::map<std::string, Accuracy> all, hard;  // by scorer name
  MeanSe gap;  // correct(posterior_perceived) − correct(non_personalised)
  // History sensitivity: share of pairs (with a non-empty history; val and
  // test splits) whose verdict changes when every history preference is
  // flipped. A scorer that ignores the history scores 0.
  std::map<std::string, MeanSe> history_flip;
  int64_t n() const { return bayes.n; }
};

struct Calibration {
  std::vector<std::string> scorers;  // report order
  std::vector<CalibrationCell> cells;
  TeacherStats teacher;  // rejection sampling on the train split
  int64_t history = 0;
  const CalibrationCell& cell(Split s, Group g) const;
};

// `seed` seeds the histories and response orders (the generator uses the
// world seed, so this reproduces what teacher.jsonl was written from).
Calibration calibrate(const World& world, const Dataset& ds, const Posterior& posterior,
                      const Teacher& teacher, const HistoryOptions& history, uint64_t seed);

// Markdown table (the one docs/PERSONAWORLD.md holds) and JSON.
std::string calibration_markdown(const Calibration& c);
std::string calibration_json(const Calibration& c);

}  // namespace pgenrm::data
