// PRISM raw (HF HannahRoseKirk/prism-alignment, ../shared/DATASETS.md):
// survey.jsonl + conversations.jsonl, or utterances.jsonl (the long form)
// instead of conversations.jsonl.
//
// Per turn, every N-choose-2 pair of the turn's scored responses becomes a
// Pair, chosen = the higher score; a pair whose score gap is below
// LoadOptions::min_score_gap (10 on the 1–100 scale, the paper's filter) is
// dropped and counted. The context of turn t is the user's messages of
// turns 0..t with, between them, the response the conversation went on
// with (the turn's if_chosen one; of several, the highest score, then the
// lowest within_turn_id). The user's stated_prefs (most important first,
// nulls left out, "other" named by other_text) and system_string become
// User::stated / system_string; choice_attributes are kept in
// RealData::extras of every pair of the conversation; conversation_type is
// the pair's scenario. PRISM has no split: LoadOptions::test_share.
//
// Tolerated: null and bare NaN numbers, "EMPTY STRING" (read as ""), any key
// order, within_turn_id as int or string, several if_chosen in a turn,
// conversations of users missing from the survey (noted).
//
// Not here: the PersonalRewardBench rows derived from PRISM (data/prb.h).
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "data/real.h"

namespace pgenrm::data {

struct PrismFiles {
  std::string survey;         // "" = none (no stated criteria)
  std::string conversations;  // "" = use utterances
  std::string utterances;     // used only when conversations is ""
};

// Files from PATH arguments: a directory (its survey.jsonl,
// conversations.jsonl, utterances.jsonl) or files recognised by name.
// Error when neither conversations nor utterances is found.
PrismFiles prism_files(const std::vector<std::string>& paths);

RealData load_prism(const PrismFiles& files, const LoadOptions& opts);

// PRISM's survey.jsonl rows as Users (stated criteria, system string), bad
// rows into `report` (PersonalRewardBench reuses it for PRISM users).
std::vector<User> read_prism_survey(std::istream& in, const std::string& name, LoadReport& report,
                                    bool strict);

// The same from in-memory text (tests, fuzz targets); an empty view is an
// absent file. Names in messages: survey.jsonl, conversations.jsonl,
// utterances.jsonl.
RealData load_prism_text(std::string_view survey, std::string_view conversations,
                         std::string_view utterances, const LoadOptions& opts);

}  // namespace pgenrm::data
