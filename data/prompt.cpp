// Prompt rendering (format in prompt.h).
#include "data/prompt.h"

#include "core/error.h"

namespace pgenrm::data {

namespace {

void check_order(const std::vector<int>& order, const Pair& pair) {
  const bool ok =
      order.size() == 2 && ((order[0] == 0 && order[1] == 1) || (order[0] == 1 && order[1] == 0));
  PGENRM_CHECK(ok, "response order for pair '" + pair.pair_id + "' is not a permutation of {0, 1}",
               "pass {0, 1} (chosen first) or {1, 0}");
}

}  // namespace

std::string stated_criteria_text(const User& user) {
  if (!user.stated.empty()) {
    std::string s;
    for (size_t i = 0; i < user.stated.size(); ++i) {
      if (i) s += ", ";
      s += user.stated[i].name + " " + std::to_string(user.stated[i].weight) + "%";
    }
    return s + ".";
  }
  if (!user.system_string.empty()) return user.system_string;
  return "none.";
}

std::string history_text(const History& history) {
  if (history.empty()) return "History: none.\n";
  std::string s = "History:\n";
  for (size_t i = 0; i < history.size(); ++i) {
    const Pair& h = *history[i];
    s += std::to_string(i + 1) + ". Query: " + h.query() + " Chosen: " + h.chosen +
         " Rejected: " + h.rejected + "\n";
  }
  return s;
}

std::string render_prompt(PromptKind kind, const User& user, const History& history,
                          const Pair& pair, const std::vector<int>& order) {
  check_order(order, pair);
  std::string s = "Task: which response does this user prefer?\n";
  if (kind == PromptKind::kPsi) s += "Stated criteria: " + stated_criteria_text(user) + "\n";
  s += history_text(history);
  s += "Query: " + pair.query() + "\n";
  for (size_t k = 0; k < order.size(); ++k)
    s += "Response " + std::to_string(k + 1) + ": " + pair.response(order[k]) + "\n";
  s.pop_back();  // no trailing newline: the chat template adds what it needs
  return s;
}

}  // namespace pgenrm::data
