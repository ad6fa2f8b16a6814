// The data vocabulary every source shares: PersonaWorld, PRISM,
// PersonalRewardBench and Chatbot Arena loaders all produce a Dataset of
// Users and Pairs, so histories, prompts, splits and scorers work the same
// whatever the source.
//
// Optional ground truth (PairTruth, UserTruth) exists only for PersonaWorld;
// real-data code must not require it.
//
// Not here: reading/writing files (data/io.h), the world generator
// (data/personaworld.h), prompts (data/prompt.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgenrm::data {

enum class Split { kTrain, kVal, kTest };
inline constexpr Split kSplits[] = {Split::kTrain, Split::kVal, Split::kTest};

std::string_view split_name(Split s);  // "train" / "val" / "test"
// Accepts "train", "val", "validation", "test"; nullopt otherwise.
std::optional<Split> parse_split(std::string_view s);

struct Message {
  std::string role;  // "user", "assistant", "system"
  std::string content;
  bool operator==(const Message&) const = default;
};

// What PersonaWorld knows about a pair and a real dataset cannot.
struct PairTruth {
  int prototype = -1;
  std::vector<double> weights;                                 // w(user, scenario), sums to 1
  std::vector<double> attributes_chosen, attributes_rejected;  // 1..10 per criterion
  double utility_chosen = 0, utility_rejected = 0;             // w · attributes
  double p_chosen = 0.5;  // σ((u_chosen − u_rejected)/τ): chance the drawn label went this way
  bool operator==(const PairTruth&) const = default;
};

// One preference of one user (a PersonalRewardBench row).
struct Pair {
  std::string pair_id;  // unique within a Dataset
  std::string user_id;
  std::vector<Message> context;  // the query is the last user message
  std::string chosen, rejected;
  std::optional<double> chosen_score, rejected_score;  // PRISM's 1–100 ratings
  Split split = Split::kTrain;
  std::string scenario;  // "" when the source does not say
  bool hard_negative = false;
  std::optional<PairTruth> truth;

  // The last user message's content; "" if there is none.
  const std::string& query() const;
  // Response r in the original order: 0 = chosen, 1 = rejected.
  const std::string& response(int r) const { return r == 0 ? chosen : rejected; }
  bool operator==(const Pair&) const = default;
};

struct StatedCriterion {
  std::string name;
  int weight = 0;  // 0..100, as PRISM's stated_prefs
  bool operator==(const StatedCriterion&) const = default;
};

struct UserTruth {
  int prototype = -1;
  std::vector<double> weights;  // scenario-free weights, sum to 1
  bool operator==(const UserTruth&) const = default;
};

struct User {
  std::string user_id;
  std::vector<StatedCriterion> stated;  // most important first; may be empty
  std::string system_string;            // the user's own instruction, "" if none
  std::optional<UserTruth> truth;

  // Group tags, set by Dataset::build_index from the pairs.
  bool cold_start = false;

  bool has_stated_criteria() const { return !stated.empty() || !system_string.empty(); }
  bool operator==(const User&) const = default;
};

// A user of at most this many train+val pairs is "cold start".
inline constexpr int64_t kColdStartMaxPairs = 1;

class Dataset {
 public:
  std::vector<User> users;
  std::vector<Pair> pairs;

  // (Re)builds the lookups below and the users' cold_start tags. Call after
  // changing `users` or `pairs`; throws on duplicate ids and on pairs whose
  // user is missing.
  void build_index();

  size_t user_index(std::string_view user_id) const;  // throws if unknown
  std::optional<size_t> find_user(std::string_view user_id) const;
  const User& user_of(const Pair& p) const { return users[user_index(p.user_id)]; }
  // Indices into `pairs` of user u's pairs of split s, in file order.
  const std::vector<size_t>& user_pairs(size_t user, Split s) const;
  size_t pair_index(std::string_view pair_id) const;  // throws if unknown
  std::vector<size_t> split_pairs(Split s) const;

 private:
  std::vector<std::string> sorted_user_ids_;
  std::vector<size_t> sorted_user_pos_;
  std::vector<std::string> sorted_pair_ids_;
  std::vector<size_t> sorted_pair_pos_;
  std::vector<std::vector<std::vector<size_t>>> by_user_split_;  // [user][split]
};

// The user groups every report breaks accuracy down by.
enum class Group { kAll, kStatedCriteria, kNoCriteria, kColdStart, kWarm };
inline constexpr Group kGroups[] = {Group::kAll, Group::kStatedCriteria, Group::kNoCriteria,
                                    Group::kColdStart, Group::kWarm};
std::string_view group_name(Group g);  // "all", "stated_criteria", ...
bool in_group(const User& u, Group g);

}  // namespace pgenrm::data
