// The hang watchdog end to end: a 2-rank job where rank 1 hangs (or dies)
// before a collective must end within the 1 s watchdog timeout plus
// launcher overhead, with a non-zero status and — for the hang — the
// message naming the rank, the operation and its label.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

namespace {

struct Outcome {
  int status = -1;
  std::string output;
  double seconds = 0;
};

Outcome run_job(const std::string& mode) {
  const std::string cmd = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
                          "OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 timeout 60 " + PGENRM_MPIEXEC +
                          " --oversubscribe -np 2 " + PGENRM_WATCHDOG_CHILD + " " + mode + " 2>&1";
  Outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) o.output += buf.data();
  const int st = pclose(p);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

TEST(Watchdog, HungPeerAbortsTheJobWithTheMessage) {
  const Outcome o = run_job("hang");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until `timeout` killed it:\n" << o.output;
  EXPECT_NE(o.output.find("rank 0: all_reduce(test step 1) on 'learners' did not complete within "
                          "1 s; a peer has probably died or hung"),
            std::string::npos)
      << o.output;
  EXPECT_EQ(o.output.find("completed, which it must not"), std::string::npos) << o.output;
  // Bounded: 1 s watchdog + start-up and teardown of two ranks, far below
  // rank 1's 60 s sleep.
  EXPECT_LT(o.seconds, 40) << o.output;
}

TEST(Watchdog, DeadPeerEndsTheJob) {
  const Outcome o = run_job("exit");
  EXPECT_NE(o.status, 0) << o.output;
  EXPECT_NE(o.status, 124) << "the job hung until `timeout` killed it:\n" << o.output;
  EXPECT_EQ(o.output.find("completed, which it must not"), std::string::npos) << o.output;
  EXPECT_LT(o.seconds, 40) << o.output;
}

}  // namespace
