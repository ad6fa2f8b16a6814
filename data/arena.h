// Chatbot Arena conversations (HF lmsys/chatbot_arena_conversations,
// exported to JSON lines; schema in ../shared/DATASETS.md).
//
// One row = one vote: `judge` is the user, `winner` "model_a" / "model_b"
// picks chosen and rejected — the final assistant message of each side.
// Ties ("tie", "tie (bothbad)") are dropped and counted by kind. Multi-turn
// votes keep their context: every user message, with the winner's earlier
// replies between them (what the judge saw from the side they preferred);
// both sides must hold the same user messages. Arena has no split:
// LoadOptions::test_share assigns each user's votes, seeded. Model names
// are kept in RealData::extras.
//
// Not here: the PersonalRewardBench rows derived from Arena (data/prb.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/real.h"

namespace pgenrm::data {

// A directory expands to its *.jsonl files (sorted by name); files as given.
RealData load_arena(const std::vector<std::string>& files, const LoadOptions& opts);
// In-memory rows named "arena.jsonl" (tests, fuzz targets).
RealData load_arena_text(std::string_view rows, const LoadOptions& opts);

}  // namespace pgenrm::data
