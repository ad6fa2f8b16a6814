#include "trainer/run_setup.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "data/generate.h"
#include "data/io.h"

namespace pgenrm::trainer {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string hex(uint64_t v) {
  std::ostringstream os;
  os << std::hex << std::setw(16) << std::setfill('0') << v;
  return os.str();
}

// The options text that decides a world: regenerate only when it changes.
std::string config_sections(const core::Config& c, const std::vector<std::string>& sections) {
  std::istringstream in(core::dump_config(c));
  std::string line, out;
  bool keep = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#')
      keep = std::find(sections.begin(), sections.end(), line.substr(0, line.find(':'))) != sections.end();
    if (keep) out += line + "\n";
  }
  return out;
}

std::string world_key(const core::Config& c) { return config_sections(c, {"world", "data"}); }

void ensure_world(const core::Config& cfg) {
  const std::string dir = cfg.data.dir;
  const std::string stamp = dir + "/options.yaml";
  const std::string key = world_key(cfg);
  std::ifstream in(stamp);
  std::string have((std::istreambuf_iterator<char>(in)), {});
  if (have == key && fs::exists(dir + "/teacher.jsonl")) {
    PGENRM_LOG_INFO("data: reusing PersonaWorld in ", dir);
    return;
  }
  PGENRM_LOG_INFO("data: generating PersonaWorld into ", dir);
  auto t0 = std::chrono::steady_clock::now();
  data::generate_dir(cfg.world, cfg.data, dir);
  std::ofstream(stamp) << key;
  PGENRM_LOG_INFO("data: generated in ", seconds_since(t0), " s");
}

std::unique_ptr<Setup> load_setup(const core::Config& cfg) {
  auto s = std::make_unique<Setup>();
  const std::string dir = cfg.data.dir;
  s->ds = data::read_dataset(dir);
  s->world = data::read_world_json(dir + "/world.json", &s->ds);
  s->tok = std::make_unique<model::Tokenizer>(model::Tokenizer::from_file(dir + "/tokenizer.json"));
  s->teacher = data::read_teacher_jsonl(dir + "/teacher.jsonl");
  s->posterior = std::make_unique<data::Posterior>(s->world, cfg.data.posterior_particles);
  s->task = std::make_unique<RmTask>(s->ds, *s->tok, data::history_options(cfg.data),
                                     cfg.model.max_seq_len - cfg.sample.max_new_tokens);
  s->train = s->ds.split_pairs(data::Split::kTrain);
  std::vector<size_t> test = s->ds.split_pairs(data::Split::kTest);
  // A fixed, seeded subset: the same pairs for every stage and baseline.
  std::vector<size_t> order(test.size());
  std::iota(order.begin(), order.end(), 0);
  uint64_t st = static_cast<uint64_t>(cfg.run.seed) ^ 0x5eedULL;
  for (size_t i = order.size(); i > 1; --i) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    std::swap(order[i - 1], order[(st >> 33) % i]);
  }
  const size_t n = std::min<size_t>(test.size(), cfg.eval.pairs);
  for (size_t i = 0; i < n; ++i) s->test_eval.push_back(test[order[i]]);
  std::sort(s->test_eval.begin(), s->test_eval.end());
  return s;
}

std::vector<uint64_t> eval_seeds(const core::Config& cfg) {
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < cfg.eval.seeds; ++i) seeds.push_back(static_cast<uint64_t>(cfg.run.seed) + 1000 + i);
  return seeds;
}

RmEvalOptions eval_options(const core::Config& cfg, int64_t chains, double temperature) {
  RmEvalOptions o;
  o.seeds = eval_seeds(cfg);
  o.chains = chains;
  o.sample.temperature = temperature;
  o.sample.top_p = cfg.sample.top_p;
  o.sample.top_k = cfg.sample.top_k;
  o.sample.max_new_tokens = cfg.sample.max_new_tokens;
  o.batch = cfg.eval.batch;
  o.kind = cfg.eval.prompt == "cre" ? data::PromptKind::kCre : data::PromptKind::kPsi;
  return o;
}

}  // namespace pgenrm::trainer
