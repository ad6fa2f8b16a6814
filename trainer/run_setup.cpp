#include "trainer/run_setup.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <algorithm>
#include <sstream>

#include "chain/parse.h"
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

bool is_real_data_dir(const std::string& dir) {
  return fs::exists(dir + "/pairs.jsonl") && !fs::exists(dir + "/world.json");
}

void ensure_world(const core::Config& cfg) {
  const std::string dir = cfg.data.dir;
  if (is_real_data_dir(dir)) {
    PGENRM_LOG_INFO("data: ", dir, " holds a real dataset (pairs.jsonl, no world.json): no PersonaWorld ",
                    "is generated, and the world-only steps (stage 0, reference scorers, truth diagnostics) ",
                    "are skipped");
    return;
  }
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

std::string tokenizer_path(const core::Config& cfg) {
  const std::string in_data = cfg.data.dir + "/tokenizer.json";
  if (fs::exists(in_data)) return in_data;
  const std::string in_model = cfg.model.hf_path.empty() ? "" : cfg.model.hf_path + "/tokenizer.json";
  PGENRM_CHECK(!in_model.empty() && fs::exists(in_model),
               "no tokenizer: neither " + in_data + " nor " +
                   (in_model.empty() ? std::string("model.hf_path/tokenizer.json (model.hf_path is not set)")
                                     : in_model) + " exists",
               "set model.hf_path to a Hugging Face model directory with its tokenizer.json, or copy a "
               "tokenizer.json (e.g. ../shared/tokenizers/qwen3/tokenizer.json) into data.dir");
  return in_model;
}

std::unique_ptr<Setup> load_setup(const core::Config& cfg) {
  auto s = std::make_unique<Setup>();
  const std::string dir = cfg.data.dir;
  s->ds = data::read_dataset(dir);
  s->has_world = fs::exists(dir + "/world.json");
  if (s->has_world) s->world = data::read_world_json(dir + "/world.json", &s->ds);
  s->tokenizer_path = tokenizer_path(cfg);
  if (!s->has_world) PGENRM_LOG_INFO("data: real dataset; tokenizer ", s->tokenizer_path);
  s->tok = std::make_unique<model::Tokenizer>(model::Tokenizer::from_file(s->tokenizer_path));
  // PersonaWorld always has its teacher; real data has one only when an LLM
  // judge wrote it (require_teacher says so before PSI needs it).
  s->has_teacher = s->has_world || fs::exists(dir + "/teacher.jsonl");
  if (s->has_teacher) s->teacher = data::read_teacher_jsonl(dir + "/teacher.jsonl");
  if (s->has_world) s->posterior = std::make_unique<data::Posterior>(s->world, cfg.data.posterior_particles);
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
  PGENRM_CHECK(s->has_world || !test.empty(), dir + " has no test pairs to evaluate on",
               "convert with a larger --test-share, or data where users have several conversations "
               "(a user with one conversation is train only; docs/DATASETS.md)");
  const size_t n = std::min<size_t>(test.size(), cfg.eval.pairs);
  for (size_t i = 0; i < n; ++i) s->test_eval.push_back(test[order[i]]);
  std::sort(s->test_eval.begin(), s->test_eval.end());
  return s;
}

void require_teacher(const core::Config& cfg, const Setup& s) {
  const std::string path = cfg.data.dir + "/teacher.jsonl";
  PGENRM_CHECK(s.has_teacher,
               "PSI (stage 1) needs teacher chains and " + path +
                   " does not exist: one JSON line per training pair, {pair_id, user_id, history "
                   "(pair ids in prompt order), order ([0,1] or [1,0]: the original response shown as "
                   "Response 1, 2), draws, chain (the evaluation chain text, chain/README.md)}",
               "write it with a strong LLM judge from each training pair's history, stated criteria and "
               "choice attributes, keeping chains that prefer the chosen response (docs/DATASETS.md, "
               "\"Teacher chains\"); or set sft.steps=0 to skip PSI");
  PGENRM_CHECK(!s.teacher.empty(), path + " holds no chains", "PSI needs at least one; or set sft.steps=0");
  auto find_pair = [&](const std::string& id) -> const data::Pair* {
    try {
      return &s.ds.pairs[s.ds.pair_index(id)];
    } catch (const std::exception&) {
      return nullptr;
    }
  };
  int64_t bad = 0;
  std::string first_bad;
  for (size_t k = 0; k < s.teacher.size(); ++k) {
    const data::TeacherRecord& r = s.teacher[k];
    const std::string where = path + ", record " + std::to_string(k + 1) + ": ";
    const data::Pair* p = find_pair(r.pair_id);
    PGENRM_CHECK(p != nullptr, where + "pair \"" + r.pair_id + "\" is not in " + cfg.data.dir + "/pairs.jsonl",
                 "teacher chains must name pairs of this data.dir (pair ids as `pgenrm data convert` wrote them)");
    PGENRM_CHECK(p->split == data::Split::kTrain,
                 where + "pair \"" + r.pair_id + "\" is not a training pair (PSI would train on a " +
                     std::string(data::split_name(p->split)) + " pair)",
                 "write teacher chains for split \"train\" pairs only");
    for (const std::string& h : r.history)
      PGENRM_CHECK(find_pair(h) != nullptr, where + "history pair \"" + h + "\" is not in the dataset",
                   "history entries are pair ids of the same data.dir");
    PGENRM_CHECK(r.order == std::vector<int>({0, 1}) || r.order == std::vector<int>({1, 0}),
                 where + "order must be [0,1] or [1,0]", "order[k] = the original response (0 chosen, 1 rejected) "
                 "shown as Response k+1");
    // A chain that does not parse still trains PSI (the judge wrote it),
    // but it teaches the format wrong: say so.
    const chain::ParseResult parsed = chain::parse(r.chain, 2);
    if (!parsed.ok()) {
      if (bad == 0) first_bad = where + parsed.message;
      ++bad;
    }
  }
  if (bad)
    PGENRM_LOG_WARN("teacher: ", bad, " of ", s.teacher.size(), " chains in ", path,
                    " do not parse as evaluation chains (chain/parse.h); the first: ", first_bad);
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

void apply_score_decoding(const core::Config& cfg, const RmTask& task, model::SampleParams* sp) {
  sp->greedy_after.clear();
  if (cfg.grpo.score_decoding != "greedy") return;
  sp->greedy_after.emplace_back(chain::kBreakdownHeader);
  sp->decode_fn = [&task](const std::vector<int64_t>& ids) { return task.text(ids); };
}

}  // namespace pgenrm::trainer
