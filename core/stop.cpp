#include "core/stop.h"

#include <atomic>
#include <csignal>
#include <cstring>

namespace pgenrm::core {

namespace {
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free flag");

extern "C" void on_stop_signal(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // system calls in flight (writes, reads) go on
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

bool stop_requested() { return g_signal.load(std::memory_order_relaxed) != 0; }
int stop_signal() { return g_signal.load(std::memory_order_relaxed); }
void request_stop(int signal_number) { g_signal.store(signal_number); }
void clear_stop() { g_signal.store(0); }

void throw_if_stop_requested(const char* where) {
  if (stop_requested())
    throw StopRequested(std::string("stop requested (signal ") + std::to_string(stop_signal()) + ") during " +
                        where);
}

}  // namespace pgenrm::core
