// libFuzzer entry for the real-data loaders: one binary (one clang build in
// `make test`), the loader chosen by the environment variable
// PGENRM_FUZZ_LOADER = prism | prb | arena | lampqa; unset or "all" runs all
// four checks on every input. The properties are in
// fuzz/data_fuzz_checks.cpp (shared with the g++ fallback in
// tests/data/test_fuzz_loaders.cpp).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace pgenrm::data::fuzz {
std::string check_prism_properties(std::string_view input);
std::string check_prb_properties(std::string_view input);
std::string check_arena_properties(std::string_view input);
std::string check_lampqa_properties(std::string_view input);
}  // namespace pgenrm::data::fuzz

namespace {

using Check = std::string (*)(std::string_view);
struct Loader {
  const char* name;
  Check check;
};
constexpr Loader kLoaders[] = {{"prism", pgenrm::data::fuzz::check_prism_properties},
                               {"prb", pgenrm::data::fuzz::check_prb_properties},
                               {"arena", pgenrm::data::fuzz::check_arena_properties},
                               {"lampqa", pgenrm::data::fuzz::check_lampqa_properties}};
const char* g_only = nullptr;  // null = all

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("PGENRM_FUZZ_LOADER");
  if (!env || !*env || std::strcmp(env, "all") == 0) return 0;
  for (const Loader& l : kLoaders)
    if (std::strcmp(env, l.name) == 0) g_only = l.name;
  if (!g_only) {
    std::fprintf(stderr, "PGENRM_FUZZ_LOADER=%s: use prism, prb, arena, lampqa or all\n", env);
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const Loader& l : kLoaders) {
    if (g_only && std::strcmp(g_only, l.name) != 0) continue;
    const std::string failure = l.check(input);
    if (!failure.empty()) {
      std::fprintf(stderr, "%s loader property violated: %s\n", l.name, failure.c_str());
      std::abort();  // libFuzzer saves the input as crash-<sha1>
    }
  }
  return 0;
}
