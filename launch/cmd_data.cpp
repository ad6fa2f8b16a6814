// `pgenrm data generate|calibrate --config FILE [--out DIR] [key=value ...]`:
// writes a PersonaWorld directory, or recomputes the calibration of one,
// and prints the calibration table (data/generate.h).
// `pgenrm data stats|validate|convert|rank --format F PATH... [--strict]`:
// loads public data (data/prism.h, prb.h, arena.h, lampqa.h), prints what
// was read, filtered and skipped (file:line), writes a read_dataset
// directory (convert), or ranks LaMP-QA candidates (rank). Thin: the work
// is in data/.
#include <iostream>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "data/arena.h"
#include "data/convert.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/lampqa.h"
#include "data/prb.h"
#include "data/prism.h"
#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"

namespace pgenrm::launch {

namespace {

int usage(const std::string& what, const std::string& hint) {
  std::cerr << "pgenrm data: " << what << "\n  hint: " << hint << "\n";
  return kExitUsage;
}

int cmd_data_world(const CommonArgs& args, const DataArgs& d) {
  CommonArgs common = args;
  common.overrides.insert(common.overrides.end(), d.args.begin(), d.args.end());
  RunContext ctx = make_run_context(common.config, common.overrides, /*make_run_dir=*/false);
  const std::string dir = d.out.empty() ? ctx.cfg.data.dir : d.out;
  data::Calibration cal = d.action == "generate" ? data::generate_dir(ctx.cfg.world, ctx.cfg.data, dir)
                                                 : data::calibrate_dir(ctx.cfg.data, dir);
  std::cout << "PersonaWorld calibration of " << dir << " (h = " << cal.history
            << "; also in calibration.md / calibration.json):\n\n"
            << data::calibration_markdown(cal);
  return kExitOk;
}

int cmd_data_lampqa(const DataArgs& d, const data::LoadOptions& o) {
  const data::LampQaData q = data::load_lampqa(d.args, o);
  std::cout << data::format_lampqa_report(q, d.show);
  if (d.action == "validate") return q.report.skipped.empty() ? kExitOk : kExitFailure;
  if (d.action == "convert")
    return usage("convert does not apply to LaMP-QA (items, not preference pairs)",
                 "use `pgenrm data rank --format lampqa PATH --candidates FILE` to evaluate rankings");
  if (d.action != "rank") return kExitOk;
  if (d.candidates.empty())
    return usage("rank needs --candidates FILE", "JSON lines {id, candidates: [{name, answer, rank, score}]}");
  data::LoadReport report;
  report.format = "lampqa candidates";
  const auto cands = data::load_lampqa_candidates(d.candidates, report, d.strict);
  for (const auto& s : report.skipped) std::cerr << "skipped: " << s.message << "\n";
  // "given": the score the file holds for (item, answer), e.g. a reward model's.
  std::map<std::pair<std::string, std::string>, double> given;
  int64_t missing = 0;
  for (const auto& row : cands)
    for (const auto& c : row.candidates) {
      if (c.score)
        given[{row.item_id, c.answer}] = *c.score;
      else
        ++missing;
    }
  if (d.scorer == "given" && missing > 0)
    return usage(std::to_string(missing) + " candidates have no \"score\" for --scorer given",
                 "add each candidate's model score, or use --scorer rubric");
  data::LampQaScorer scorer = [&](const data::LampQaItem& it, const std::string& answer) {
    if (d.scorer == "rubric") return data::rubric_coverage(it, answer);
    return given.at({it.id, answer});
  };
  const data::LampQaEval ev = data::evaluate_lampqa(q.items, cands, scorer);
  std::cout << "\nLaMP-QA ranking (" << d.scorer << " scorer): Spearman rho mean " << ev.mean_rho << " over "
            << ev.evaluated << " of " << ev.items << " rows (" << ev.undefined << " undefined, "
            << ev.unknown_item << " with an unknown id)\n";
  for (const auto& [cat, v] : ev.by_category)
    std::cout << "  " << cat << ": " << v.first << " (" << v.second << ")\n";
  return kExitOk;
}

}  // namespace

int cmd_data(const CommonArgs& args, const DataArgs& d) {
  if (d.action == "generate" || d.action == "calibrate") return cmd_data_world(args, d);
  if (d.format.empty())
    return usage("`data " + d.action + "` needs --format", "--format prism | prb | arena | lampqa");
  if (d.args.empty())
    return usage("`data " + d.action + "` needs the data files or directories",
                 "e.g. pgenrm data stats --format prism path/to/prism-alignment");
  data::LoadOptions o;
  o.strict = d.strict;
  o.min_score_gap = d.min_gap;
  o.history = d.history;
  o.seed = d.seed;
  o.test_share = d.test_share;
  o.val_share = d.val_share;
  if (d.format == "lampqa") return cmd_data_lampqa(d, o);
  if (d.action == "rank")
    return usage("rank is LaMP-QA's evaluation", "use --format lampqa, or `pgenrm eval` for pairs");
  if (d.action == "convert" && d.out.empty())
    return usage("convert needs --out DIR", "the directory to write pairs.jsonl, survey.jsonl, ... into");

  data::RealData real;
  std::vector<data::PrbTestItem> test;
  if (d.format == "prism") {
    real = data::load_prism(data::prism_files(d.args), o);
  } else if (d.format == "prb") {
    data::PrbData p = data::load_prb(data::prb_files(d.args), o);
    real = std::move(p.data);
    test = std::move(p.test);
  } else {
    real = data::load_arena(d.args, o);
  }
  std::cout << data::format_report(real, d.show);
  if (d.format == "prb") {
    int64_t empty = 0;
    for (const auto& t : test) empty += t.history.empty();
    std::cout << "test items: " << test.size() << " (h = " << d.history << ", " << empty
              << " with an empty history)\n";
  }
  if (d.action == "validate") {
    if (real.report.skipped.empty()) {
      std::cout << "valid: no bad rows\n";
      return kExitOk;
    }
    std::cout << "invalid: " << real.report.skipped.size() << " bad rows (listed above)\n";
    return kExitFailure;
  }
  if (d.action == "convert") {
    data::write_real_dir(d.out, real, d.format == "prb" ? &test : nullptr);
    // The point of convert: the directory must read back as the same pairs.
    const data::Dataset back = data::read_dataset(d.out);
    PGENRM_CHECK(back.pairs.size() == real.dataset.pairs.size(),
                 "converted directory reads back " + std::to_string(back.pairs.size()) + " pairs, not " +
                     std::to_string(real.dataset.pairs.size()),
                 "report this: write_real_dir and read_dataset disagree");
    std::cout << "wrote " << d.out << " (pairs.jsonl, survey.jsonl, pair_extras.jsonl"
              << (d.format == "prb" ? ", prb_test.jsonl" : "") << ", load_report.json); use it as data.dir\n";
  }
  return kExitOk;
}

}  // namespace pgenrm::launch
