#include "comm/watchdog.h"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace pgenrm::comm {

void Watchdog::wait(const std::function<bool()>& done, std::string_view op, std::string_view group,
                    std::string_view label, const std::function<void()>& on_hang) const {
  using Clock = std::chrono::steady_clock;
  const bool bounded = opts_.timeout_s > 0;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(bounded ? opts_.timeout_s : 0));
  // Yield first (short collectives finish within microseconds), then sleep
  // with a growing pause: on an oversubscribed node a spinning waiter would
  // steal the core its peer needs to reach the collective.
  auto pause = std::chrono::microseconds(20);
  for (int polls = 0; !done(); ++polls) {
    if (bounded && Clock::now() > deadline) {
      if (on_hang) on_hang();
      report(message(op, group, label));
    }
    if (polls < 200) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      if (pause < std::chrono::milliseconds(1)) pause *= 2;
    }
  }
}

std::string Watchdog::message(std::string_view op, std::string_view group,
                              std::string_view label) const {
  std::ostringstream os;
  os << "rank " << world_rank_ << ": " << op << "(" << label << ") on '" << group
     << "' did not complete within " << opts_.timeout_s
     << " s; a peer has probably died or hung — check the other ranks' logs";
  return os.str();
}

void Watchdog::report(const std::string& msg) const {
  if (opts_.action == HangAction::kThrow)
    throw Error(msg, "raise comm.timeout_s if the collective is legitimately this slow");
  // stderr directly as well as the log: the logger may be filtered by rank,
  // and this line is the one thing the user must see.
  std::fprintf(stderr, "pgenrm watchdog: %s\n", msg.c_str());
  std::fflush(stderr);
  PGENRM_LOG_ERROR(msg);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, kHangExitCode);
  std::_Exit(kHangExitCode);
}

}  // namespace pgenrm::comm
