#include "trainer/batch.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/error.h"

namespace pgenrm::trainer {

TokenBatch collate(const std::vector<SeqExample>& ex, int64_t pad_id) {
  PGENRM_CHECK(!ex.empty(), "empty batch", "a batch needs at least one example");
  int64_t T = 0;
  for (const auto& e : ex) T = std::max(T, e.size());
  const int64_t B = ex.size();
  TokenBatch b;
  b.ids_BT = at::full({B, T}, pad_id, at::kLong);
  b.keep_BT = at::zeros({B, T}, at::kBool);
  b.target_mask = at::zeros({B, std::max<int64_t>(T - 1, 0)}, at::kFloat);
  auto ids = b.ids_BT.accessor<int64_t, 2>();
  auto keep = b.keep_BT.accessor<bool, 2>();
  auto tm = b.target_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& e = ex[i];
    PGENRM_CHECK(!e.prompt.empty(), "example with an empty prompt",
                 "every sequence needs at least one prompt token (e.g. <bos>)");
    int64_t t = 0;
    for (int64_t tok : e.prompt) ids[i][t] = tok, keep[i][t++] = true;
    const int64_t n_train = e.train_len < 0 ? static_cast<int64_t>(e.target.size()) : e.train_len;
    for (size_t j = 0; j < e.target.size(); ++j) {
      ids[i][t] = e.target[j];
      keep[i][t] = true;
      if (static_cast<int64_t>(j) < n_train) {
        tm[i][t - 1] = 1.0f;  // predicted from position t-1
        ++b.target_tokens;
      }
      ++t;
    }
  }
  return b;
}

std::vector<std::vector<int64_t>> length_bucketed_batches(const std::vector<SeqExample>& ex,
                                                          int64_t batch_size, int64_t window,
                                                          uint64_t seed) {
  PGENRM_CHECK(batch_size > 0 && window > 0, "batch_size and window must be positive",
               "check trainer.batch_size");
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<int64_t>> batches;
  const size_t chunk = static_cast<size_t>(batch_size * window);
  for (size_t start = 0; start < order.size(); start += chunk) {
    auto first = order.begin() + start;
    auto last = order.begin() + std::min(order.size(), start + chunk);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return ex[a].size() < ex[b].size(); });
    for (auto it = first; it < last; it += std::min<ptrdiff_t>(batch_size, last - it))
      batches.emplace_back(it, it + std::min<ptrdiff_t>(batch_size, last - it));
  }
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

}  // namespace pgenrm::trainer
