// The `pgenrm` executable. All logic lives in the libraries; see launch/cli.cpp.
#include <unistd.h>

#include <cstdlib>

#include "launch/cli.h"

int main(int argc, char** argv) {
  // OpenMP threads that spin between ops steal the cores a busy machine
  // needs (measured: a GRPO step 90x slower on a loaded 2-core box). The
  // OpenMP runtime reads the policy when it loads, before main, so set it
  // and re-execute once; an explicit setting by the user is kept.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: carry on as is
  }
  return pgenrm::launch::run_cli(argc, argv);
}
