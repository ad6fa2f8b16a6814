// Communication benchmarks (issue 6). Reports, never asserts:
//   - MPI all-reduce latency and bandwidth, 1 KB .. 64 MB, on 1 rank
//     (MPI_COMM_SELF on rank 0) and on 2 ranks (the world)
//   - weight broadcast (WeightSync: header + payload + checksum verify)
//     time against parameter bytes, and the checksum's own speed
//   - data-parallel step throughput of a tiny model: 1 learner at global
//     batch B vs 2 learners at B/2 each with the bucketed overlapping
//     all-reduce (strong scaling; efficiency = speedup / 2)
// Usage: mpirun -np 2 bench_comm [--quick]   (Markdown tables + a JSON line
// from rank 0). Rank 1 waits in a polling barrier while rank 0 measures the
// 1-rank cases, so it does not steal the core. Run with OMP_NUM_THREADS=1
// so 1 rank and 2 ranks use one core each.
#include <ATen/ATen.h>
#include <mpi.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/grad_sync.h"
#include "comm/mpi_backend.h"
#include "comm/weight_sync.h"
#include "comm/world.h"
#include "model/transformer.h"

using namespace pgenrm;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median seconds of one all-reduce of `bytes` over `c`.
double time_all_reduce(comm::Collectives& c, int64_t bytes, int reps) {
  at::Tensor t = at::ones({bytes / 4}, at::kFloat);
  c.all_reduce(t, comm::ReduceOp::kSum, "warm-up");
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    c.all_reduce(t, comm::ReduceOp::kSum, "bench");
    s.push_back(since(t0));
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

model::ModelConfig bench_model() {
  model::ModelConfig c;
  c.vocab_size = 512;
  c.d_model = 128;
  c.n_layers = 3;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 32;
  c.d_ff = 352;
  c.max_seq_len = 128;
  return c;
}

at::Tensor lm_loss(model::Transformer& m, const at::Tensor& ids) {
  at::Tensor logits = m->forward(ids, at::ones_like(ids, at::kBool));
  const int64_t T = ids.size(1);
  at::Tensor logp = logits.narrow(1, 0, T - 1).log_softmax(-1);
  return -logp.gather(-1, ids.narrow(1, 1, T - 1).unsqueeze(-1)).mean();
}

// Sequences per second of `steps` optimizer steps at global batch B over
// the learners of `c` (each rank takes B / size rows).
double step_throughput(comm::Collectives& c, int64_t B, int64_t T, int steps) {
  at::manual_seed(0);
  model::Transformer m(bench_model());
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3));
  comm::BucketedGradSync sync(c, {/*bucket_mb=*/1.0, comm::ReduceOp::kAvg});
  sync.attach(m->parameters());
  const int64_t b = B / c.size();
  const at::Tensor ids = at::randint(0, 512, {b, T}, at::kLong);
  auto step = [&] {
    opt.zero_grad();
    sync.arm_overlap();
    lm_loss(m, ids).backward();
    sync.all_reduce_grads(m->parameters());
    opt.step();
  };
  step();  // warm-up
  c.barrier("bench start");
  auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  c.barrier("bench end");
  return B * steps / since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  comm::WorldOptions wo;
  wo.watchdog.timeout_s = 600;
  comm::World world(wo, &argc, &argv);
  if (!world.distributed() || world.size() != 2) {
    std::fprintf(stderr, "run as: mpirun -np 2 bench_comm [--quick]\n");
    return 1;
  }
  const int rank = world.rank();
  auto self = comm::make_mpi_collectives(MPI_COMM_SELF, "self", wo.watchdog, rank);
  comm::Collectives& both = world.world();
  nlohmann::json out;
  out["threads_per_rank"] = at::get_num_threads();

  // --- all-reduce sweep --------------------------------------------------
  nlohmann::json ar = nlohmann::json::array();
  for (int64_t bytes = 1 << 10; bytes <= (int64_t(64) << 20); bytes *= 4) {
    const int reps = bytes <= (1 << 20) ? (quick ? 20 : 100) : (quick ? 3 : 10);
    double t1 = 0;
    if (rank == 0) t1 = time_all_reduce(*self, bytes, reps);
    both.barrier("sweep");
    const double t2 = time_all_reduce(both, bytes, reps);
    // Bus bandwidth: 2(n-1)/n of the data crosses each link in a ring.
    ar.push_back({{"bytes", bytes}, {"np1_s", t1}, {"np2_s", t2},
                  {"np2_algbw_GBps", bytes / t2 / 1e9}, {"np2_busbw_GBps", bytes / t2 / 1e9}});
  }
  out["all_reduce"] = ar;

  // --- weight broadcast --------------------------------------------------
  nlohmann::json wb = nlohmann::json::array();
  comm::WeightSync ws(both);
  for (int64_t bytes : {int64_t(1) << 20, int64_t(16) << 20, int64_t(64) << 20,
                        int64_t(256) << 20}) {
    if (quick && bytes > (int64_t(64) << 20)) break;
    std::vector<at::Tensor> params{at::randn({bytes / 4 / 2}), at::randn({bytes / 4 / 2})};
    ws.sync(params, 0);  // warm-up
    both.barrier("wb");
    auto t0 = Clock::now();
    const int reps = 3;
    for (int i = 0; i < reps; ++i) ws.sync(params, i + 1);
    const double t = since(t0) / reps;
    auto c0 = Clock::now();
    comm::checksum_tensors(params);
    const double tc = since(c0);
    wb.push_back({{"bytes", bytes}, {"sync_s", t}, {"GBps", bytes / t / 1e9},
                  {"checksum_GBps", bytes / tc / 1e9}});
  }
  out["weight_broadcast"] = wb;

  // --- data-parallel step throughput -------------------------------------
  const int64_t B = 16, T = 64;
  const int steps = quick ? 3 : 10;
  double thr1 = 0;
  if (rank == 0) thr1 = step_throughput(*self, B, T, steps);
  both.barrier("dp");
  const double thr2 = step_throughput(both, B, T, steps);
  out["data_parallel"] = {{"global_batch", B}, {"seq_len", T}, {"np1_seq_per_s", thr1},
                          {"np2_seq_per_s", thr2}, {"speedup", thr2 / thr1},
                          {"efficiency", thr2 / thr1 / 2}};

  if (rank == 0) {
    std::printf("| all-reduce bytes | 1 rank | 2 ranks | 2-rank bandwidth |\n|---|---|---|---|\n");
    for (auto& r : out["all_reduce"])
      std::printf("| %lld | %.1f µs | %.1f µs | %.2f GB/s |\n", (long long)r["bytes"].get<int64_t>(),
                  r["np1_s"].get<double>() * 1e6, r["np2_s"].get<double>() * 1e6,
                  r["np2_algbw_GBps"].get<double>());
    std::printf("\n| weight bytes | sync time (2 ranks) | rate | checksum rate |\n|---|---|---|---|\n");
    for (auto& r : out["weight_broadcast"])
      std::printf("| %lld | %.2f ms | %.2f GB/s | %.2f GB/s |\n", (long long)r["bytes"].get<int64_t>(),
                  r["sync_s"].get<double>() * 1e3, r["GBps"].get<double>(),
                  r["checksum_GBps"].get<double>());
    auto& d = out["data_parallel"];
    std::printf("\n| learners | seq/s (global batch %lld, T=%lld) |\n|---|---|\n| 1 | %.1f |\n"
                "| 2 | %.1f |\n| speedup / efficiency | %.2fx / %.0f%% |\n",
                (long long)B, (long long)T, thr1, thr2, d["speedup"].get<double>(),
                100 * d["efficiency"].get<double>());
    std::printf("%s\n", out.dump().c_str());
  }
  return 0;
}
