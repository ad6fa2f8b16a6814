// Files of a dataset directory, in the schemas of ../shared/DATASETS.md so
// the real-data loaders and PersonaWorld share one reader:
//
//   pairs.jsonl    one PersonalRewardBench row per pair: user_id,
//                  conversation_id (= our pair id), context [{content, role}],
//                  chosen/rejected {content, role}, chosen_score,
//                  rejected_score, split; extra keys scenario, hard_negative,
//                  truth {prototype, weights, attributes_chosen, ...}
//   survey.jsonl   PRISM-like, one row per user who states criteria:
//                  user_id, system_string, stated_prefs {criterion: 0..100},
//                  stated_criteria [{name, weight}] (the ordered list)
//   world.json     PersonaWorld's ground truth (world options, prototypes,
//                  multipliers, population weights, every user's weights)
//   teacher.jsonl  kept teacher chains: pair_id, user_id, history, order,
//                  draws, chain
//
// Readers never depend on key order, accept null and a bare NaN where a
// number may be missing, and report a bad line as "file:line: reason".
// Writers emit a fixed key order, so equal data gives byte-identical files.
//
// Not here: the real-data loaders (data/prism.h, prb.h, arena.h, lampqa.h),
// which map the public schemas into these types and report bad rows instead
// of throwing; data/convert.h writes their result in these files.
#pragma once

#include <string>
#include <vector>

#include "data/personaworld.h"
#include "data/teacher.h"
#include "data/types.h"

namespace pgenrm::data {

void write_pairs_jsonl(const std::string& path, const std::vector<Pair>& pairs);
std::vector<Pair> read_pairs_jsonl(const std::string& path);

// Writes the users that state criteria (stated list or system string).
void write_survey_jsonl(const std::string& path, const std::vector<User>& users);
std::vector<User> read_survey_jsonl(const std::string& path);

// pairs.jsonl + survey.jsonl (if present) of `dir`, indexed. Users appear in
// the order of their first pair, then survey-only users.
Dataset read_dataset(const std::string& dir);

void write_world_json(const std::string& path, const World& world, const std::vector<User>& users);
// Reads the world; when `ds` is given, attaches each user's UserTruth.
World read_world_json(const std::string& path, Dataset* ds = nullptr);

void write_teacher_jsonl(const std::string& path, const std::vector<TeacherRecord>& records);
std::vector<TeacherRecord> read_teacher_jsonl(const std::string& path);

// A bare NaN / Infinity outside strings becomes null (Python's json writes
// them; JSON does not allow them). Exposed for tests; defined in jsonl.cpp.
std::string nan_to_null(const std::string& line);

}  // namespace pgenrm::data
