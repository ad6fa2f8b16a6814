// A job that hangs or dies on purpose, for test_comm_watchdog.cpp:
//   watchdog_child hang  — rank 1 sleeps instead of joining the all-reduce
//   watchdog_child exit  — rank 1 exits abruptly (a killed learner)
// Rank 0 (and any others) run the all-reduce with a 1 s watchdog; the job
// must end with the watchdog's message (hang) or by the launcher tearing it
// down (exit), never by hanging.
#include <ATen/ATen.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "comm/world.h"

int main(int argc, char** argv) {
  const bool hang = argc > 1 && std::strcmp(argv[1], "hang") == 0;
  pgenrm::comm::WorldOptions o;
  o.watchdog.timeout_s = 1;
  pgenrm::comm::World w(o, &argc, &argv);
  at::Tensor g = at::ones({1024});
  w.learners().all_reduce(g, pgenrm::comm::ReduceOp::kSum, "warm-up");  // all present
  if (w.rank() == 1) {
    if (!hang) _exit(9);
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return 0;
  }
  w.learners().all_reduce(g, pgenrm::comm::ReduceOp::kSum, "test step 1");
  std::printf("rank %d: the all-reduce completed, which it must not\n", w.rank());
  return 0;
}
