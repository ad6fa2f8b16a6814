// Property checks of the real-data loaders for the libFuzzer target
// fuzz_data_loaders (fuzz_data_loaders.cpp) and its g++ fallback
// (tests/data/test_fuzz_loaders.cpp). For any bytes:
//   - the lenient load returns (no exception of any kind, no sanitizer
//     report); every row is either used or skipped, and every skipped row's
//     message starts with "file:line: " for a line >= 1;
//   - the strict load either returns the same pairs (when nothing was
//     skipped) or throws pgenrm::Error naming the first bad row — never
//     another exception type;
//   - the dataset is indexed (unique ids, every pair's user exists) and
//     holds what the format promises: PRISM pairs have chosen score −
//     rejected score >= the minimum gap; PRB test items are the test pairs,
//     with at most h history pairs of the same user from train/val; LaMP-QA
//     item ids are unique.
// Each check returns "" or what broke.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "core/error.h"
#include "data/arena.h"
#include "data/lampqa.h"
#include "data/prb.h"
#include "data/prism.h"

namespace pgenrm::data::fuzz {

namespace {

std::string check_report(const LoadReport& r) {
  if (r.rows_used + static_cast<int64_t>(r.skipped.size()) < r.rows) return "rows neither used nor skipped";
  for (const SkippedRow& s : r.skipped) {
    if (s.line < 1) return "skipped row without a line";
    const std::string prefix = s.file + ":" + std::to_string(s.line) + ": ";
    if (s.message.compare(0, prefix.size(), prefix) != 0) return "skip message lacks file:line: " + s.message;
    if (s.reason.empty()) return "skip without a reason";
  }
  return "";
}

std::string check_dataset(const Dataset& ds) {
  std::set<std::string> ids;
  for (const Pair& p : ds.pairs) {
    if (!ids.insert(p.pair_id).second) return "duplicate pair id " + p.pair_id;
    if (!ds.find_user(p.user_id)) return "pair of an unknown user";
  }
  return "";
}

// Runs `load(strict)` both ways and the shared checks; `extra` checks the
// lenient result.
template <class Load, class Get, class Extra>
std::string check_both(Load&& load, Get&& real_of, Extra&& extra) {
  try {
    auto lenient = load(false);
    const RealData& r = real_of(lenient);
    if (auto e = check_report(r.report); !e.empty()) return e;
    if (auto e = check_dataset(r.dataset); !e.empty()) return e;
    if (auto e = extra(lenient); !e.empty()) return e;
    try {
      auto strict = load(true);
      if (!r.report.skipped.empty()) return "strict load accepted a bad row: " + r.report.skipped[0].message;
      if (real_of(strict).dataset.pairs != r.dataset.pairs) return "strict and lenient pairs differ";
    } catch (const Error& e) {
      if (r.report.skipped.empty()) return std::string("strict load threw on a clean input: ") + e.what();
      const std::string& first = r.report.skipped[0].message;
      if (std::string(e.what()).rfind(first, 0) != 0)
        return std::string("strict error is not the first bad row: ") + e.what();
    }
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
  return "";
}

std::string none(const auto&) { return ""; }

}  // namespace

// Input: byte 0 chooses conversations (even) or utterances (odd); the rest
// is "survey \0 main" (no \0: no survey).
std::string check_prism_properties(std::string_view input) {
  const bool utterances = !input.empty() && (static_cast<unsigned char>(input[0]) & 1);
  std::string_view rest = input.empty() ? input : input.substr(1);
  std::string_view survey, main = rest;
  if (auto z = rest.find('\0'); z != std::string_view::npos) {
    survey = rest.substr(0, z);
    main = rest.substr(z + 1);
  }
  LoadOptions o;
  return check_both(
      [&](bool strict) {
        o.strict = strict;
        return utterances ? load_prism_text(survey, "", main.empty() ? std::string_view("\n") : main, o)
                          : load_prism_text(survey, main, "", o);
      },
      [](const RealData& d) -> const RealData& { return d; },
      [&](const RealData& d) -> std::string {
        for (const Pair& p : d.dataset.pairs) {
          if (!p.chosen_score || !p.rejected_score) return "PRISM pair without scores";
          if (*p.chosen_score - *p.rejected_score < o.min_score_gap) return "PRISM pair under the gap: " + p.pair_id;
        }
        return "";
      });
}

std::string check_prb_properties(std::string_view input) {
  LoadOptions o;
  return check_both(
      [&](bool strict) {
        o.strict = strict;
        return load_prb_text(input, o);
      },
      [](const PrbData& d) -> const RealData& { return d.data; },
      [&](const PrbData& d) -> std::string {
        const Dataset& ds = d.data.dataset;
        if (d.test.size() != ds.split_pairs(Split::kTest).size()) return "test items are not the test pairs";
        for (const PrbTestItem& t : d.test) {
          const Pair& p = ds.pairs[ds.pair_index(t.pair_id)];
          if (static_cast<int64_t>(t.history.size()) > o.history) return "history longer than h";
          for (const std::string& h : t.history) {
            const Pair& q = ds.pairs[ds.pair_index(h)];
            if (q.user_id != p.user_id || q.split == Split::kTest || q.pair_id == p.pair_id)
              return "history pair of another user, the test split or the pair itself";
          }
        }
        return "";
      });
}

std::string check_arena_properties(std::string_view input) {
  LoadOptions o;
  return check_both(
      [&](bool strict) {
        o.strict = strict;
        return load_arena_text(input, o);
      },
      [](const RealData& d) -> const RealData& { return d; }, [](const RealData& d) { return none(d); });
}

std::string check_lampqa_properties(std::string_view input) {
  try {
    LoadOptions o;
    const LampQaData d = load_lampqa_text(input, o);
    if (auto e = check_report(d.report); !e.empty()) return e;
    std::set<std::string> ids;
    for (const LampQaItem& it : d.items)
      if (!ids.insert(it.id).second) return "duplicate LaMP-QA id " + it.id;
    o.strict = true;
    try {
      const LampQaData s = load_lampqa_text(input, o);
      if (!d.report.skipped.empty()) return "strict load accepted a bad element";
      if (s.items != d.items) return "strict and lenient items differ";
    } catch (const Error&) {
      if (d.report.skipped.empty()) return "strict load threw on a clean input";
    }
    // The candidates reader shares the element scanner; it must not throw either.
    LoadReport r;
    const auto c = load_lampqa_candidates_text(input, "c.jsonl", r, false);
    evaluate_lampqa(d.items, c, rubric_coverage);
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  } catch (...) {
    return "unknown exception";
  }
  return "";
}

}  // namespace pgenrm::data::fuzz
