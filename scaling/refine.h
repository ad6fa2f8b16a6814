// Prototype refinement (DESIGN.md §7, exactly as the paper writes it — its
// released code leaves both regularisers out). For a sample of a user with
// query q, responses y⁺ / y⁻ and a history of h (q_τ, y⁺_τ, y⁻_τ) triples,
// all embeddings of dimension d, and the prototype a_j of the user's
// nearest prototype j:
//   o_τ = σ(W [q_τ; y⁺_τ − y⁻_τ])                       W  ∈ R^{d×2d}
//   α_τ = softmax_τ(o_τ·q/√d + ρ·o_τ·a_j/√d)
//   v   = Σ_τ α_τ o_τ                                    (0 without history)
//   z   = a_j + λ_q W_q q + λ_s W_s v                     W_q, W_s ∈ R^{d×d}
//   L_pair = −log σ(z·y⁺ − z·y⁻)
//   L = L_pair + λ_cent ‖a_j − μ_j‖² + λ_tr ‖a_j − p_j‖²
// μ_j is the mean of prototype j's members and p_j the prototype before
// this update — here: its value at the start of the refinement round (a
// proximal term against the previous prototype; against the value before
// each single Adam step its gradient would be zero). A round trains a_1..k,
// W, W_q, W_s with Adam for a fixed number of seeded minibatch steps, then
// the members are reassigned to their nearest prototype and μ recomputed.
//
// Not here: how embeddings and histories are built from a dataset
// (scaling/build.h).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "scaling/prototypes.h"

namespace pgenrm::scaling {

// M samples; h = history slots (rows with fewer triples are masked).
struct RefineData {
  at::Tensor user_emb;   // [M, d] the sample's user (decides its prototype)
  at::Tensor q, yp, yn;  // [M, d]
  at::Tensor hist;       // [M, h, 3, d] (q_τ, y⁺_τ, y⁻_τ); h may be 0
  at::Tensor hist_mask;  // [M, h] bool, true = a real triple
  int64_t size() const { return q.defined() ? q.size(0) : 0; }
};

struct RefineOptions {
  int64_t rounds = 2;
  int64_t steps = 150;
  int64_t batch = 128;
  double lr = 1e-2;
  double lambda_q = 1.0, lambda_s = 1.0, rho = 1.0;
  double lambda_cent = 0.1, lambda_tr = 0.1;
  uint64_t seed = 1;
};

struct RefineParams {
  at::Tensor W, Wq, Ws;  // [d, 2d], [d, d], [d, d]
};
// Small seeded initial weights (platform-independent draws).
RefineParams init_refine_params(int64_t d, uint64_t seed);

// L_pair of every sample [M] with its nearest prototype of `p`.
at::Tensor pair_losses(const Prototypes& p, const RefineParams& w, const RefineData& data,
                       const RefineOptions& o);
double mean_pair_loss(const Prototypes& p, const RefineParams& w, const RefineData& data,
                      const RefineOptions& o);

struct RefineReport {
  std::vector<double> round_loss;  // mean L (with regularisers) of each round's last 10% of steps
  std::vector<int64_t> moved;      // members reassigned after each round
};
// Refines p.centroids and w in place and reassigns p's members.
RefineReport refine(Prototypes& p, RefineParams& w, const RefineData& train, const RefineOptions& o);

}  // namespace pgenrm::scaling
