// Graceful stops: SIGTERM and SIGUSR1 (what SLURM sends before a job's time
// runs out or on preemption) only raise a flag here; the training loop reads
// it at the end of an optimizer step, writes a checkpoint and leaves with
// checkpoint::kRequeueExitCode. Long loops without optimizer steps (the
// evaluation's generation batches) call throw_if_stop_requested() so a stop
// during an evaluation does not wait for the whole evaluation: the run
// resumes from the checkpoint written before it.
//
// Not here: what to save (trainer/run_checkpoint.h), exit codes (launch/).
#pragma once

#include <stdexcept>
#include <string>

namespace pgenrm::core {

// Installs the handlers (idempotent). A second signal of the same kind while
// a stop is pending is ignored: the run is already on its way out.
void install_stop_handlers();
bool stop_requested();
// The signal number that asked for the stop (0 if none).
int stop_signal();
// For tests and for ranks told by rank 0 that a stop was requested.
void request_stop(int signal_number);
void clear_stop();

// Thrown once the state the run must keep is on disk.
class StopRequested : public std::runtime_error {
 public:
  explicit StopRequested(const std::string& what) : std::runtime_error(what) {}
};
void throw_if_stop_requested(const char* where);

}  // namespace pgenrm::core
