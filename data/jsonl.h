// The row readers under the real-data loaders: JSON lines and JSON arrays
// read element by element, each bad row turned into a LoadReport entry
// ("file:line: reason") instead of an exception, and typed field accessors
// whose errors carry the reason (missing_field, wrong_type, bad_value).
// Internal to data/ (the loaders' .cpp files); tests and fuzz targets use
// the loaders, not this.
//
// Not here: what a row means (the per-format loaders).
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "data/real.h"

namespace pgenrm::data {
// A bare NaN / Infinity outside strings becomes null (also declared in io.h;
// defined in jsonl.cpp so the loaders need no io.cpp).
std::string nan_to_null(const std::string& line);
}  // namespace pgenrm::data

namespace pgenrm::data::jsonl {

using Json = nlohmann::json;

// A problem with one row: `reason` is one of real.h's k* names.
struct RowError : std::runtime_error {
  RowError(std::string reason_, const std::string& what)
      : std::runtime_error(what), reason(std::move(reason_)) {}
  std::string reason;
};

// Calls `row(json, line)` for every non-blank line of `in`. A line that is
// not JSON, not an object, or whose `row` throws RowError / a json error, is
// skipped into `report` (or thrown, if strict). A bare NaN / Infinity is
// read as null. Counts report.rows and rows_used; adds the bytes read.
void for_each_line(std::istream& in, const std::string& file, LoadReport& report, bool strict,
                   const std::function<void(const Json&, int64_t)>& row);

// The same for a file holding one JSON array of objects (LaMP-QA): each
// top-level element is parsed on its own, so one bad element is skipped with
// the line it starts on and the rest still load. A file that does not start
// with '[' is read as JSON lines. An unterminated array skips its tail as
// one malformed row.
void for_each_element(std::string_view text, const std::string& file, LoadReport& report,
                      bool strict, const std::function<void(const Json&, int64_t)>& row);

// The whole file as bytes; Error naming the path (and `hint`) if unreadable.
std::string read_file(const std::string& path, const std::string& hint);

// --- field accessors (throw RowError) -------------------------------------
// A required field: missing or null is kMissingField.
const Json& need(const Json& j, const char* key);
// Present and not null, else nullptr.
const Json* find(const Json& j, const char* key);
std::string need_string(const Json& j, const char* key);
// A string, or "" when missing / null.
std::string opt_string(const Json& j, const char* key);
// A string or an integer (ids that exports write either way), as a string.
std::string need_id(const Json& j, const char* key);
std::string as_id(const Json& v, const char* key);
// An integer, an integral float or a string holding one.
int64_t need_int(const Json& j, const char* key);
// A number, or nullopt when missing / null / NaN.
std::optional<double> opt_number(const Json& j, const char* key);
// true / false / 0 / 1; `dflt` when missing or null.
bool opt_bool(const Json& j, const char* key, bool dflt);
const Json& need_array(const Json& j, const char* key);
const Json& need_object(const Json& j, const char* key);

// "\"key\" must be a string, not number".
std::string type_message(const char* key, const char* want, const Json& got);

}  // namespace pgenrm::data::jsonl
