// LaMP-QA items, candidates and the Spearman evaluation (see lampqa.h).
#include "data/lampqa.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "data/jsonl.h"

namespace pgenrm::data {

namespace {

using jsonl::Json;
using jsonl::RowError;

template <class T, class F>
std::vector<T> list_of(const Json& j, const char* key, F&& one) {
  std::vector<T> out;
  const Json* v = jsonl::find(j, key);
  if (!v) return out;
  if (!v->is_array()) throw RowError(kWrongType, jsonl::type_message(key, "a list", *v));
  for (size_t k = 0; k < v->size(); ++k) {
    const Json& e = (*v)[k];
    const std::string at = std::string(key) + "[" + std::to_string(k) + "]";
    if (!e.is_object()) throw RowError(kWrongType, at + " must be an object, not " + e.type_name());
    try {
      out.push_back(one(e));
    } catch (const RowError& err) {
      throw RowError(err.reason, at + ": " + err.what());
    }
  }
  return out;
}

void read_items(std::string_view text, const std::string& name, const std::string& default_category,
                LampQaData& out, std::map<std::string, std::string>& seen, bool strict) {
  jsonl::for_each_element(text, name, out.report, strict, [&](const Json& j, int64_t line) {
    LampQaItem it;
    it.id = jsonl::need_id(j, "id");
    it.question = jsonl::need_string(j, "question");
    it.narrative = jsonl::opt_string(j, "narrative");
    it.category = jsonl::opt_string(j, "category");
    if (it.category.empty()) it.category = default_category;
    it.rubric = list_of<RubricAspect>(j, "rubric_aspects", [](const Json& e) {
      return RubricAspect{jsonl::need_string(e, "aspect"), jsonl::opt_string(e, "evidence"),
                          jsonl::opt_string(e, "reason")};
    });
    it.profile = list_of<ProfilePost>(j, "profile", [](const Json& e) {
      std::string id;
      if (const Json* v = jsonl::find(e, "id")) id = jsonl::as_id(*v, "id");
      return ProfilePost{jsonl::opt_string(e, "category"), id, jsonl::need_string(e, "text")};
    });
    const std::string where = name + ":" + std::to_string(line);
    if (auto [p, fresh] = seen.emplace(it.id, where); !fresh)
      throw RowError(kDuplicateId, "duplicate id \"" + it.id + "\" (first at " + p->second + ")");
    out.items.push_back(std::move(it));
  });
}

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      if (w.size() >= 4) out.insert(w);
      w.clear();
    }
  }
  return out;
}

}  // namespace

LampQaData load_lampqa(const std::vector<std::string>& paths, const LoadOptions& opts) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && (e.path().extension() == ".json" || e.path().extension() == ".jsonl"))
        in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    if (in_dir.empty())
      throw Error("LaMP-QA: no *.json file in '" + p + "'", "save each category's split as a JSON array");
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  LampQaData out;
  out.report.format = "lampqa";
  std::map<std::string, std::string> seen;
  for (const std::string& f : files) {
    const std::string text = jsonl::read_file(f, "check the path");
    read_items(text, f, fs::path(f).stem().string(), out, seen, opts.strict);
  }
  return out;
}

LampQaData load_lampqa_text(std::string_view text, const LoadOptions& opts, const std::string& name) {
  LampQaData out;
  out.report.format = "lampqa";
  std::map<std::string, std::string> seen;
  read_items(text, name, std::filesystem::path(name).stem().string(), out, seen, opts.strict);
  return out;
}

std::string format_lampqa_report(const LampQaData& data, int64_t max_lines_per_reason) {
  // The shared report with no pairs, then LaMP-QA's own counts.
  RealData as_real;
  as_real.report = data.report;
  std::string text = format_report(as_real, max_lines_per_reason);
  std::map<std::string, int64_t> by_cat;
  double posts = 0, aspects = 0;
  for (const LampQaItem& it : data.items) {
    ++by_cat[it.category];
    posts += static_cast<double>(it.profile.size());
    aspects += static_cast<double>(it.rubric.size());
  }
  const double n = data.items.empty() ? 1.0 : static_cast<double>(data.items.size());
  text += "items (questions, one user each): " + std::to_string(data.items.size()) + "\n";
  for (const auto& [c, k] : by_cat) text += "  " + c + ": " + std::to_string(k) + "\n";
  char buf[128];
  std::snprintf(buf, sizeof buf, "mean profile posts per item: %.2f\nmean rubric aspects per item: %.2f\n",
                posts / n, aspects / n);
  return text + buf;
}

std::vector<LampQaCandidates> load_lampqa_candidates_text(std::string_view text, const std::string& name,
                                                          LoadReport& report, bool strict) {
  std::vector<LampQaCandidates> out;
  jsonl::for_each_element(text, name, report, strict, [&](const Json& j, int64_t) {
    LampQaCandidates c;
    c.item_id = jsonl::need_id(j, "id");
    c.candidates = list_of<LampQaCandidate>(j, "candidates", [](const Json& e) {
      LampQaCandidate k;
      k.name = jsonl::opt_string(e, "name");
      k.answer = jsonl::need_string(e, "answer");
      auto r = jsonl::opt_number(e, "rank");
      if (!r) throw RowError(kMissingField, "missing key \"rank\"");
      k.truth_rank = *r;
      k.score = jsonl::opt_number(e, "score");
      return k;
    });
    out.push_back(std::move(c));
  });
  return out;
}

std::vector<LampQaCandidates> load_lampqa_candidates(const std::string& path, LoadReport& report,
                                                     bool strict) {
  return load_lampqa_candidates_text(jsonl::read_file(path, "check the --candidates path"), path, report,
                                     strict);
}

double rubric_coverage(const LampQaItem& item, const std::string& answer) {
  std::set<std::string> want;
  for (const RubricAspect& a : item.rubric) {
    auto w = words(a.aspect);
    want.insert(w.begin(), w.end());
  }
  if (want.empty()) return 0;
  const auto have = words(answer);
  int64_t hit = 0;
  for (const std::string& w : want) hit += have.contains(w);
  return static_cast<double>(hit) / static_cast<double>(want.size());
}

std::optional<double> spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return std::nullopt;
  for (double x : a)
    if (!std::isfinite(x)) return std::nullopt;
  for (double x : b)
    if (!std::isfinite(x)) return std::nullopt;
  const auto ra = average_ranks(a), rb = average_ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < ra.size(); ++i) ma += ra[i], mb += rb[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::nullopt;
  return sab / std::sqrt(saa * sbb);
}

LampQaEval evaluate_lampqa(const std::vector<LampQaItem>& items,
                           const std::vector<LampQaCandidates>& candidates, const LampQaScorer& scorer) {
  std::map<std::string, const LampQaItem*> by_id;
  for (const LampQaItem& it : items) by_id.emplace(it.id, &it);
  LampQaEval ev;
  double sum = 0;
  for (const LampQaCandidates& row : candidates) {
    ++ev.items;
    auto it = by_id.find(row.item_id);
    if (it == by_id.end()) {
      ++ev.unknown_item;
      continue;
    }
    std::vector<double> model, truth;
    for (const LampQaCandidate& c : row.candidates) {
      model.push_back(scorer(*it->second, c.answer));
      truth.push_back(-c.truth_rank);
    }
    auto rho = spearman(model, truth);
    if (!rho) {
      ++ev.undefined;
      continue;
    }
    ++ev.evaluated;
    sum += *rho;
    auto& cat = ev.by_category[it->second->category];
    cat.first += *rho;
    ++cat.second;
    ev.per_item.emplace_back(row.item_id, *rho);
  }
  if (ev.evaluated) ev.mean_rho = sum / static_cast<double>(ev.evaluated);
  for (auto& [k, v] : ev.by_category) v.first /= static_cast<double>(v.second);
  return ev;
}

}  // namespace pgenrm::data
