// Split assignment, dataset counts and the text report shared by the
// real-data loaders (see real.h).
#include "data/real.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "data/rng.h"

namespace pgenrm::data {

std::map<std::pair<std::string, std::string>, Split> assign_splits(
    const std::vector<std::pair<std::string, std::string>>& units, const LoadOptions& opts) {
  std::map<std::string, std::set<std::string>> by_user;  // sorted: independent of file order
  for (const auto& [user, conv] : units) by_user[user].insert(conv);
  std::map<std::pair<std::string, std::string>, Split> out;
  for (const auto& [user, convs] : by_user) {
    std::vector<std::string> v(convs.begin(), convs.end());
    Rng rng(derive_seed(opts.seed, "split", user));
    rng.shuffle(v);
    const auto n = static_cast<int64_t>(v.size());
    // A user needs a train conversation before any goes to test, and a
    // test one before any goes to val.
    int64_t n_test = n >= 2 ? std::max<int64_t>(1, std::llround(opts.test_share * n)) : 0;
    if (opts.test_share <= 0) n_test = 0;
    n_test = std::min(n_test, n - 1 < 0 ? 0 : n - 1);
    int64_t n_val = n >= 3 ? std::max<int64_t>(1, std::llround(opts.val_share * n)) : 0;
    if (opts.val_share <= 0) n_val = 0;
    n_val = std::max<int64_t>(0, std::min(n_val, n - n_test - 1));
    for (int64_t i = 0; i < n; ++i) {
      Split s = i < n_test ? Split::kTest : i < n_test + n_val ? Split::kVal : Split::kTrain;
      out[{user, v[static_cast<size_t>(i)]}] = s;
    }
  }
  return out;
}

void unique_pair_ids(RealData& data) {
  std::set<std::string> seen;
  for (const Pair& p : data.dataset.pairs) seen.insert(p.pair_id);
  if (seen.size() == data.dataset.pairs.size()) return;
  seen.clear();
  for (Pair& p : data.dataset.pairs) {
    if (seen.insert(p.pair_id).second) continue;
    std::string id;
    for (int n = 2;; ++n) {
      id = p.pair_id + "#" + std::to_string(n);
      if (seen.insert(id).second) break;
    }
    // Extras are keyed by id: the first holder keeps them, a renamed
    // repeat takes none (it cannot be told apart from the first by key).
    p.pair_id = id;
    ++data.report.notes["pair_ids_renamed_to_stay_unique"];
  }
}

DatasetStats dataset_stats(const Dataset& ds) {
  DatasetStats st;
  st.users = static_cast<int64_t>(ds.users.size());
  st.pairs = static_cast<int64_t>(ds.pairs.size());
  for (const Pair& p : ds.pairs) ++st.pairs_by_split[static_cast<int>(p.split)];
  std::vector<int64_t> per_user;
  for (size_t u = 0; u < ds.users.size(); ++u) {
    int64_t n = 0;
    for (Split s : kSplits) n += static_cast<int64_t>(ds.user_pairs(u, s).size());
    if (n > 0) per_user.push_back(n);
    if (ds.users[u].has_stated_criteria()) ++st.users_with_criteria;
    if (ds.users[u].cold_start) ++st.cold_start_users;
  }
  st.users_with_pairs = static_cast<int64_t>(per_user.size());
  if (!per_user.empty()) {
    std::sort(per_user.begin(), per_user.end());
    st.min_pairs_per_user = per_user.front();
    st.max_pairs_per_user = per_user.back();
    const size_t m = per_user.size();
    st.median_pairs_per_user = m % 2 ? static_cast<double>(per_user[m / 2])
                                     : 0.5 * static_cast<double>(per_user[m / 2 - 1] + per_user[m / 2]);
    double sum = 0;
    for (int64_t n : per_user) sum += static_cast<double>(n);
    st.mean_pairs_per_user = sum / static_cast<double>(m);
  }
  return st;
}

std::string format_report(const RealData& data, int64_t max_lines_per_reason) {
  const LoadReport& r = data.report;
  const DatasetStats st = dataset_stats(data.dataset);
  std::ostringstream o;
  o << "format: " << r.format << "\nfiles:";
  for (const auto& f : r.files) o << " " << f;
  o << "\nrows: " << r.rows << " read, " << r.rows_used << " used, " << r.skipped.size()
    << " skipped (bad)\n";
  if (r.format != "lampqa") {  // LaMP-QA has items, not pairs (lampqa.h)
  o << "users: " << st.users << " (" << st.users_with_pairs << " with pairs, "
    << st.users_with_criteria << " with stated criteria, " << st.cold_start_users
    << " cold start)\n";
  o << "pairs: " << st.pairs << " (train " << st.pairs_by_split[0] << ", val "
    << st.pairs_by_split[1] << ", test " << st.pairs_by_split[2] << ")\n";
  o << "pairs per user: min " << st.min_pairs_per_user << ", median " << st.median_pairs_per_user
    << ", mean " << st.mean_pairs_per_user << ", max " << st.max_pairs_per_user << "\n";
  }
  if (!r.filtered.empty()) {
    o << "filtered (by design):\n";
    for (const auto& [k, v] : r.filtered) o << "  " << k << ": " << v << "\n";
  }
  if (!r.notes.empty()) {
    o << "notes:\n";
    for (const auto& [k, v] : r.notes) o << "  " << k << ": " << v << "\n";
  }
  if (!r.skipped.empty()) {
    o << "skipped rows by reason:\n";
    for (const auto& [reason, n] : r.skipped_by_reason()) {
      o << "  " << reason << ": " << n << "\n";
      int64_t shown = 0;
      for (const SkippedRow& s : r.skipped) {
        if (s.reason != reason) continue;
        if (shown++ == max_lines_per_reason) {
          o << "    ...\n";
          break;
        }
        o << "    " << s.message << "\n";
      }
    }
  }
  return o.str();
}

}  // namespace pgenrm::data
