// Load throughput of the real-data loaders on generated PRISM-sized input:
// 1,500 survey users and 8,000 conversations (turn 0 with 4 scored
// responses, later turns 2, 1–6 turns, ~600-character responses with
// \u escapes and the odd NaN score) — about as many responses as PRISM's
// 68,371 utterances — written as conversations.jsonl and as the long-form
// utterances.jsonl. Reports MB/s, rows/s and pairs/s per source (best of
// `--repeat`, default 3). Figures only; nothing is asserted
// (docs/PERFORMANCE.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "data/prism.h"

namespace {

using pgenrm::data::LoadOptions;
using pgenrm::data::PrismFiles;
using pgenrm::data::RealData;

const char* kWords[] = {"the",   "model",  "answer", "because", "travel",   "caf\\u00e9", "price",  "should",
                        "would", "really", "help",   "think",   "question", "recipe",     "history", "quickly",
                        "data",  "people", "value",  "safe",    "simple",   "na\\u00efve", "option", "more"};

std::string text(std::mt19937_64& rng, int chars) {
  std::string s;
  while (static_cast<int>(s.size()) < chars) {
    if (!s.empty()) s += ' ';
    s += kWords[rng() % (sizeof kWords / sizeof *kWords)];
  }
  return s;
}

struct Sizes {
  int64_t conversations = 0, responses = 0;
};

Sizes generate(const std::string& dir, int64_t users, int64_t conversations) {
  std::mt19937_64 rng(7);
  std::ofstream survey(dir + "/survey.jsonl"), conv(dir + "/conversations.jsonl"),
      utt(dir + "/utterances.jsonl");
  for (int64_t u = 0; u < users; ++u)
    survey << "{\"user_id\": \"user" << u << "\", \"system_string\": \"" << text(rng, 120)
           << "\", \"stated_prefs\": {\"values\": " << rng() % 101 << ", \"creativity\": " << rng() % 101
           << ", \"fluency\": " << rng() % 101 << ", \"factuality\": NaN, \"diversity\": null, \"safety\": "
           << rng() % 101 << ", \"personalisation\": " << rng() % 101 << ", \"helpfulness\": " << rng() % 101
           << ", \"other\": null, \"other_text\": \"\"}, \"age\": \"25-34 years old\"}\n";
  Sizes n;
  int64_t utterance = 0;
  for (int64_t c = 0; c < conversations; ++c) {
    const int64_t user = static_cast<int64_t>(rng() % static_cast<uint64_t>(users));
    const int turns = 1 + static_cast<int>(rng() % 6);
    conv << "{\"conversation_id\": \"c" << c << "\", \"user_id\": \"user" << user
         << "\", \"conversation_type\": \"unguided\", \"conversation_history\": [";
    for (int t = 0; t < turns; ++t) {
      const std::string prompt = text(rng, 100);
      conv << (t ? ", " : "") << "{\"turn\": " << t << ", \"role\": \"user\", \"content\": \"" << prompt << "\"}";
      const int k = t == 0 ? 4 : 2;
      const int chosen = static_cast<int>(rng() % static_cast<uint64_t>(k));
      for (int r = 0; r < k; ++r) {
        const std::string body = text(rng, 400 + static_cast<int>(rng() % 400));
        const std::string score = rng() % 50 == 0 ? "NaN" : std::to_string(1 + rng() % 100);
        const char* ch = r == chosen ? "true" : "false";
        conv << ", {\"turn\": " << t << ", \"role\": \"model\", \"content\": \"" << body
             << "\", \"model_name\": \"m" << r << "\", \"model_provider\": \"p\", \"score\": " << score
             << ", \"if_chosen\": " << ch << ", \"within_turn_id\": " << r << "}";
        utt << "{\"utterance_id\": \"u" << utterance++ << "\", \"conversation_id\": \"c" << c
            << "\", \"user_id\": \"user" << user << "\", \"turn\": " << t << ", \"within_turn_id\": " << r
            << ", \"user_prompt\": \"" << prompt << "\", \"model_response\": \"" << body
            << "\", \"model_name\": \"m" << r << "\", \"score\": " << score << ", \"if_chosen\": " << ch << "}\n";
        ++n.responses;
      }
    }
    conv << "], \"choice_attributes\": {\"values\": " << rng() % 101
         << ", \"fluency\": NaN, \"factuality\": null}, \"included_in_balanced_subset\": true}\n";
    ++n.conversations;
  }
  return n;
}

void report(const char* name, const PrismFiles& files, int repeat) {
  double best = 1e30;
  RealData d;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    d = pgenrm::data::load_prism(files, LoadOptions{});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double mb = static_cast<double>(d.report.bytes) / 1e6;
  std::printf("| %-27s | %7.1f | %8lld | %6zu | %6.2f | %7.1f | %9.0f | %9.0f |\n", name, mb,
              static_cast<long long>(d.report.rows), d.dataset.pairs.size(), best, mb / best,
              static_cast<double>(d.report.rows) / best, static_cast<double>(d.dataset.pairs.size()) / best);
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  const auto dir = std::filesystem::temp_directory_path() / "pgenrm_bench_data_load";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Sizes n = generate(dir.string(), 1500, 8000);
  std::printf("generated %lld conversations, %lld responses in %s\n\n", static_cast<long long>(n.conversations),
              static_cast<long long>(n.responses), dir.c_str());
  std::printf("| source                      |      MB |     rows |  pairs | best s |    MB/s |    rows/s |   pairs/s |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  report("survey + conversations", {dir / "survey.jsonl", dir / "conversations.jsonl", ""}, repeat);
  report("survey + utterances", {dir / "survey.jsonl", "", dir / "utterances.jsonl"}, repeat);
  std::filesystem::remove_all(dir);
  return 0;
}
