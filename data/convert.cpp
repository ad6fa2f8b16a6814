// A real dataset → a dataset directory (see convert.h).
#include "data/convert.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/io.h"
#include "data/jsonl.h"

namespace pgenrm::data {

namespace {

using OJson = nlohmann::ordered_json;

void write_lines(const std::string& path, const std::vector<OJson>& rows) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path + "'", "check that the folder is writable");
  for (const OJson& r : rows) out << r.dump() << '\n';
  out.close();
  if (!out) throw Error("writing '" + path + "' failed", "is the disk full?");
}

OJson report_json(const RealData& d) {
  const LoadReport& r = d.report;
  const DatasetStats st = dataset_stats(d.dataset);
  OJson j = OJson::object();
  j["format"] = r.format;
  j["files"] = r.files;
  j["bytes"] = r.bytes;
  j["rows"] = r.rows;
  j["rows_used"] = r.rows_used;
  j["users"] = st.users;
  j["users_with_pairs"] = st.users_with_pairs;
  j["pairs"] = st.pairs;
  j["pairs_by_split"] = {{"train", st.pairs_by_split[0]}, {"val", st.pairs_by_split[1]},
                         {"test", st.pairs_by_split[2]}};
  j["filtered"] = r.filtered;
  j["notes"] = r.notes;
  j["skipped_by_reason"] = r.skipped_by_reason();
  OJson rows = OJson::array();
  for (const SkippedRow& s : r.skipped) rows.push_back({{"file", s.file}, {"line", s.line}, {"reason", s.reason}, {"message", s.message}});
  j["skipped"] = rows;
  return j;
}

}  // namespace

void write_real_dir(const std::string& dir, const RealData& data, const std::vector<PrbTestItem>* test) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create '" + dir + "': " + ec.message(), "check the --out path");
  write_pairs_jsonl(dir + "/pairs.jsonl", data.dataset.pairs);
  write_survey_jsonl(dir + "/survey.jsonl", data.dataset.users);
  std::vector<OJson> extras;
  for (const Pair& p : data.dataset.pairs) {
    auto it = data.extras.find(p.pair_id);
    if (it == data.extras.end()) continue;
    OJson e = OJson::object();
    e["pair_id"] = p.pair_id;
    e["choice_attributes"] = it->second.choice_attributes;
    e["flip"] = it->second.flip;
    e["model_chosen"] = it->second.model_chosen;
    e["model_rejected"] = it->second.model_rejected;
    extras.push_back(std::move(e));
  }
  write_lines(dir + "/pair_extras.jsonl", extras);
  if (test) {
    std::vector<OJson> rows;
    for (const PrbTestItem& t : *test) {
      OJson e = OJson::object();
      e["pair_id"] = t.pair_id;
      e["history"] = t.history;
      e["order"] = t.order;
      rows.push_back(std::move(e));
    }
    write_lines(dir + "/prb_test.jsonl", rows);
  }
  std::ofstream out(dir + "/load_report.json", std::ios::binary | std::ios::trunc);
  out << report_json(data).dump(1) << '\n';
  if (!out) throw Error("writing '" + dir + "/load_report.json' failed", "is the disk full?");
}

std::map<std::string, PairExtras> read_pair_extras(const std::string& path) {
  std::map<std::string, PairExtras> out;
  LoadReport report;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'", "convert the dataset first");
  jsonl::for_each_line(in, path, report, /*strict=*/true, [&](const jsonl::Json& j, int64_t) {
    PairExtras e;
    if (const auto* a = jsonl::find(j, "choice_attributes"))
      e.choice_attributes = a->get<std::map<std::string, double>>();
    e.flip = jsonl::opt_bool(j, "flip", false);
    e.model_chosen = jsonl::opt_string(j, "model_chosen");
    e.model_rejected = jsonl::opt_string(j, "model_rejected");
    out[jsonl::need_string(j, "pair_id")] = std::move(e);
  });
  return out;
}

}  // namespace pgenrm::data
