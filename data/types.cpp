// Lookups over a Dataset (sorted id tables; no hashing, so iteration order
// never depends on a hash seed).
#include "data/types.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace pgenrm::data {

std::string_view split_name(Split s) {
  switch (s) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kTest:
      return "test";
  }
  return "?";
}

std::optional<Split> parse_split(std::string_view s) {
  if (s == "train") return Split::kTrain;
  if (s == "val" || s == "validation") return Split::kVal;
  if (s == "test") return Split::kTest;
  return std::nullopt;
}

const std::string& Pair::query() const {
  static const std::string kEmpty;
  for (auto it = context.rbegin(); it != context.rend(); ++it)
    if (it->role == "user") return it->content;
  return kEmpty;
}

namespace {

// Sorts `ids` and returns the original positions alongside; throws on a
// duplicate, naming it.
void sorted_table(const std::vector<std::string>& ids, const char* what,
                  std::vector<std::string>* sorted, std::vector<size_t>* pos) {
  pos->resize(ids.size());
  std::iota(pos->begin(), pos->end(), size_t{0});
  std::sort(pos->begin(), pos->end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  sorted->clear();
  for (size_t p : *pos) {
    if (!sorted->empty() && sorted->back() == ids[p])
      throw Error(std::string("duplicate ") + what + " id '" + ids[p] + "'",
                  "every id must be unique within a dataset");
    sorted->push_back(ids[p]);
  }
}

size_t find_in(const std::vector<std::string>& sorted, const std::vector<size_t>& pos,
               std::string_view id, const char* what) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), id);
  if (it == sorted.end() || *it != id)
    throw Error(std::string("unknown ") + what + " id '" + std::string(id) + "'",
                "is the dataset indexed (Dataset::build_index) and the id spelled right?");
  return pos[static_cast<size_t>(it - sorted.begin())];
}

}  // namespace

void Dataset::build_index() {
  std::vector<std::string> uids, pids;
  for (const User& u : users) uids.push_back(u.user_id);
  for (const Pair& p : pairs) pids.push_back(p.pair_id);
  sorted_table(uids, "user", &sorted_user_ids_, &sorted_user_pos_);
  sorted_table(pids, "pair", &sorted_pair_ids_, &sorted_pair_pos_);
  by_user_split_.assign(users.size(), std::vector<std::vector<size_t>>(3));
  for (size_t i = 0; i < pairs.size(); ++i) {
    const size_t u = user_index(pairs[i].user_id);
    by_user_split_[u][static_cast<size_t>(pairs[i].split)].push_back(i);
  }
  for (size_t u = 0; u < users.size(); ++u) {
    const auto n = by_user_split_[u][0].size() + by_user_split_[u][1].size();
    users[u].cold_start = static_cast<int64_t>(n) <= kColdStartMaxPairs;
  }
}

size_t Dataset::user_index(std::string_view id) const {
  return find_in(sorted_user_ids_, sorted_user_pos_, id, "user");
}

std::optional<size_t> Dataset::find_user(std::string_view id) const {
  auto it = std::lower_bound(sorted_user_ids_.begin(), sorted_user_ids_.end(), id);
  if (it == sorted_user_ids_.end() || *it != id) return std::nullopt;
  return sorted_user_pos_[static_cast<size_t>(it - sorted_user_ids_.begin())];
}

size_t Dataset::pair_index(std::string_view id) const {
  return find_in(sorted_pair_ids_, sorted_pair_pos_, id, "pair");
}

const std::vector<size_t>& Dataset::user_pairs(size_t user, Split s) const {
  PGENRM_CHECK(user < by_user_split_.size(), "user index out of range",
               "call Dataset::build_index after changing users or pairs");
  return by_user_split_[user][static_cast<size_t>(s)];
}

std::vector<size_t> Dataset::split_pairs(Split s) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < pairs.size(); ++i)
    if (pairs[i].split == s) out.push_back(i);
  return out;
}

std::string_view group_name(Group g) {
  switch (g) {
    case Group::kAll:
      return "all";
    case Group::kStatedCriteria:
      return "stated_criteria";
    case Group::kNoCriteria:
      return "no_criteria";
    case Group::kColdStart:
      return "cold_start";
    case Group::kWarm:
      return "warm";
  }
  return "?";
}

bool in_group(const User& u, Group g) {
  switch (g) {
    case Group::kAll:
      return true;
    case Group::kStatedCriteria:
      return u.has_stated_criteria();
    case Group::kNoCriteria:
      return !u.has_stated_criteria();
    case Group::kColdStart:
      return u.cold_start;
    case Group::kWarm:
      return !u.cold_start;
  }
  return false;
}

}  // namespace pgenrm::data
