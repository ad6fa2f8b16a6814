// Prompt text for the reward model, compact enough for a tiny model
// (about 250 WordLevel tokens with h = 3 on PersonaWorld):
//
//   Task: which response does this user prefer?
//   Stated criteria: brevity 50%, structure 30%, warmth 20%.   <- PSI only
//   History:
//   1. Query: ... Chosen: ... Rejected: ...
//   Query: ...
//   Response 1: ...
//   Response 2: ...
//
// PSI (Stage 1) shows the user's stated criteria (or their system string,
// or "none"); CRE (Stage 2/3) shows the history only, so the model must
// infer the criteria. The responses appear in the order the caller gives
// (the chain folder shuffles them against position bias).
//
// Not here: chat templates (model/chat_template.h), the chain the model
// answers with (chain/).
#pragma once

#include <string>
#include <vector>

#include "data/history.h"
#include "data/types.h"

namespace pgenrm::data {

enum class PromptKind { kPsi, kCre };

// order[k] = original index (0 = chosen, 1 = rejected) of the response shown
// as "Response k+1"; it must be a permutation of {0, 1}.
std::string render_prompt(PromptKind kind, const User& user, const History& history,
                          const Pair& pair, const std::vector<int>& order);

// The "History:" block of a prompt (ends with a newline); also what the
// personalised Bradley–Terry baseline reads.
std::string history_text(const History& history);

// The stated-criteria line's content ("brevity 50%, ..." / system string /
// "none"); exposed for tests and the teacher.
std::string stated_criteria_text(const User& user);

}  // namespace pgenrm::data
