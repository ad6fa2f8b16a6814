// The `pgenrm` command line: subcommands, their flags, and exit codes.
// Exit codes: 0 success; 1 runtime failure; 2 usage or configuration error
// (the message says what to change); 3 a subcommand this build does not
// provide yet; kExitRequeue (see checkpoint docs) after a preemption checkpoint.
#pragma once

namespace pgenrm::launch {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 3;

int run_cli(int argc, char** argv);

}  // namespace pgenrm::launch
