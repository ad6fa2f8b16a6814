// PersonaWorld's closed vocabulary: the criteria (with a ten-word scale per
// criterion that response texts draw from), the scenarios with their
// queries, and the phrases the teacher's Part-1 text is built of. Every word
// a world file, prompt or teacher chain uses comes from here or from the
// fixed templates of prompt.cpp / teacher.cpp — which is what keeps the
// WordLevel vocabulary small and closed.
//
// Not here: any randomness or world parameters (data/personaworld.h).
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace pgenrm::data {

inline constexpr int kMaxCriteria = 8;
inline constexpr int kMaxScenarios = 8;
inline constexpr int kLevels = 10;  // attribute levels 1..10
inline constexpr int kQueriesPerScenario = 3;

struct CriterionLex {
  std::string_view name;       // the criterion as chains name it: "brevity"
  std::string_view adjective;  // "short": how a user asks for it
  std::string_view reason;     // why it matters, for the teacher's derivation
  // levels[l - 1] is the word for attribute level l (1 = least, 10 = most).
  std::array<std::string_view, kLevels> levels;
};

struct ScenarioLex {
  std::string_view name;    // "music"
  std::string_view phrase;  // "relaxing with music"
  std::array<std::string_view, kQueriesPerScenario> queries;
};

const std::array<CriterionLex, kMaxCriteria>& criteria_lexicon();
const std::array<ScenarioLex, kMaxScenarios>& scenario_lexicon();

// (criterion index, level 1..10) of a response word; nullopt if it is not a
// level word.
std::optional<std::pair<int, int>> level_of_word(std::string_view word);

}  // namespace pgenrm::data
