// The word lists. Level words are unique across criteria (checked once at
// first use), so a word alone tells which criterion and level it reveals.
#include "data/lexicon.h"

#include <map>
#include <string>

#include "core/error.h"

namespace pgenrm::data {

const std::array<CriterionLex, kMaxCriteria>& criteria_lexicon() {
  static const std::array<CriterionLex, kMaxCriteria> kLex = {{
      {"brevity",
       "short",
       "they want the point fast",
       {"rambling", "sprawling", "verbose", "wordy", "lengthy", "measured", "trim", "concise",
        "brief", "terse"}},
      {"depth",
       "thorough",
       "they want to understand fully",
       {"vacuous", "superficial", "shallow", "thin", "basic", "solid", "detailed", "thorough",
        "deep", "exhaustive"}},
      {"structure",
       "organised",
       "they want steps they can follow",
       {"chaotic", "jumbled", "messy", "disorganised", "loose", "tidy", "orderly", "organised",
        "structured", "outlined"}},
      {"warmth",
       "warm",
       "they want to feel understood",
       {"icy", "cold", "curt", "distant", "neutral", "polite", "friendly", "warm", "caring",
        "affectionate"}},
      {"formality",
       "formal",
       "they want a professional tone",
       {"slangy", "chatty", "casual", "relaxed", "informal", "standard", "proper", "formal",
        "official", "ceremonious"}},
      {"creativity",
       "creative",
       "they want fresh ideas",
       {"rote", "stale", "bland", "conventional", "ordinary", "fresh", "original", "inventive",
        "imaginative", "visionary"}},
      {"caution",
       "careful",
       "they want risks pointed out",
       {"reckless", "careless", "bold", "risky", "unhedged", "balanced", "careful", "prudent",
        "cautious", "safeguarded"}},
      {"practicality",
       "practical",
       "they want something they can use now",
       {"theoretical", "abstract", "vague", "conceptual", "general", "applicable", "useful",
        "concrete", "actionable", "practical"}},
  }};
  return kLex;
}

const std::array<ScenarioLex, kMaxScenarios>& scenario_lexicon() {
  static const std::array<ScenarioLex, kMaxScenarios> kLex = {{
      {"music",
       "relaxing with music",
       {"suggest calm music for a quiet evening", "what songs help me unwind after work",
        "recommend an album for a rainy sunday"}},
      {"study",
       "studying for an exam",
       {"how should I revise for my chemistry exam",
        "explain the causes of the first world war for my test",
        "help me plan my study time before finals"}},
      {"email",
       "writing a work email",
       {"draft an email asking my manager for a day off",
        "write a reply declining a meeting invite", "how do I follow up on an unanswered email"}},
      {"travel",
       "planning a trip",
       {"plan three days in lisbon on a budget", "what should I pack for a hiking trip",
        "how do I handle a long layover"}},
      {"health",
       "asking about health",
       {"what helps with trouble sleeping", "how much water should I drink a day",
        "is it safe to run with a mild cold"}},
      {"coding",
       "getting coding help",
       {"why does my python loop never end", "how do I reverse a linked list",
        "explain what a race condition is"}},
      {"parenting",
       "raising children",
       {"how do I get my toddler to sleep", "ideas for a rainy day with kids",
        "how do I talk to a teen about screen time"}},
      {"cooking",
       "cooking at home",
       {"quick dinner ideas with rice and beans", "how do I make bread rise better",
        "what can I cook for a picky eater"}},
  }};
  return kLex;
}

std::optional<std::pair<int, int>> level_of_word(std::string_view word) {
  static const std::map<std::string, std::pair<int, int>, std::less<>> kIndex = [] {
    std::map<std::string, std::pair<int, int>, std::less<>> m;
    const auto& lex = criteria_lexicon();
    for (int c = 0; c < kMaxCriteria; ++c)
      for (int l = 0; l < kLevels; ++l) {
        const std::string w(lex[c].levels[l]);
        PGENRM_CHECK(!m.contains(w), "level word '" + w + "' is used twice in the lexicon",
                     "every level word must name one criterion and level");
        m[w] = {c, l + 1};
      }
    return m;
  }();
  auto it = kIndex.find(word);
  if (it == kIndex.end()) return std::nullopt;
  return it->second;
}

}  // namespace pgenrm::data
