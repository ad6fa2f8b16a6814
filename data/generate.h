// `pgenrm data generate|calibrate` as library calls: generate a PersonaWorld
// directory (pairs.jsonl, survey.jsonl, world.json, teacher.jsonl,
// tokenizer.json, calibration.json, calibration.md) or recompute the
// calibration of an existing one. The world seed seeds the histories and
// response orders the teacher wrote from, so calibrate reproduces them.
//
// Not here: argument parsing (launch/cmd_data.cpp).
#pragma once

#include <string>

#include "core/options.h"
#include "data/calibrate.h"
#include "data/history.h"

namespace pgenrm::data {

HistoryOptions history_options(const core::DataOptions& d);
TeacherOptions teacher_options(const core::DataOptions& d);

// Creates `dir` if needed and overwrites the files in it.
Calibration generate_dir(const core::WorldOptions& world, const core::DataOptions& data,
                         const std::string& dir);

// Reads `dir` (world.json with truth), recomputes and rewrites
// calibration.json / calibration.md. The world's options come from
// world.json; history and teacher options from `data`.
Calibration calibrate_dir(const core::DataOptions& data, const std::string& dir);

}  // namespace pgenrm::data
