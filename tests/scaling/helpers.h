// Planted-cluster data for the scaling tests.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <vector>

namespace pgenrm::scaling::test {

struct Planted {
  at::Tensor x;                 // [N, d]
  std::vector<int64_t> labels;  // [N]
  at::Tensor centres;           // [k, d]
};

// k well-separated centres (scale `spread`), `per` points each with
// Gaussian noise `noise`; rows optionally L2-normalised.
inline Planted planted(int64_t k, int64_t per, int64_t d, double spread, double noise, uint64_t seed,
                       bool normalise = false) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Planted p;
  p.centres = at::randn({k, d}, gen, at::kFloat) * spread;
  std::vector<at::Tensor> rows;
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < per; ++i) {
      rows.push_back(p.centres[j] + at::randn({d}, gen, at::kFloat) * noise);
      p.labels.push_back(j);
    }
  p.x = at::stack(rows);
  if (normalise) p.x = p.x / p.x.norm(2, 1, true);
  return p;
}

}  // namespace pgenrm::scaling::test
