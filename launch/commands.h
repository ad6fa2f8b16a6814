// One function per subcommand. Each parses nothing itself: cli.cpp hands it
// the parsed flags. They live in launch/cmd_*.cpp and call into the libraries.
#pragma once

#include <string>
#include <vector>

namespace pgenrm::launch {

struct CommonArgs {
  std::string config;
  std::vector<std::string> overrides;
};

struct TokenizeArgs {
  std::string tokenizer;
  bool add_special = false;
  bool decode = false;
  bool skip_special = false;
};

int cmd_tokenize(const TokenizeArgs& args);
// Resolves and prints the config, creates the run directory; what the
// subcommand then runs depends on what this build provides.
int cmd_resolve_only(const std::string& sub, const CommonArgs& args);

}  // namespace pgenrm::launch
