// Row readers and field accessors of the real-data loaders (see jsonl.h),
// the LoadReport bookkeeping of real.h, and nan_to_null (declared in io.h;
// defined here so the loaders and their fuzz targets need no io.cpp).
#include "data/jsonl.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace pgenrm::data {

std::string nan_to_null(const std::string& line) {
  std::string out;
  out.reserve(line.size());
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size())
        out += line[++i];
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    if (c == 'N' || c == 'I' || c == '-') {
      for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
        const size_t n = std::char_traits<char>::length(word);
        if (line.compare(i, n, word) == 0) {
          out += "null";
          i += n - 1;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

void LoadReport::skip(const std::string& file, int64_t line, const std::string& reason,
                      const std::string& what, bool strict) {
  const std::string message = file + ":" + std::to_string(line) + ": " + what;
  if (strict)
    throw Error(message + " [" + reason + "]",
                "fix or remove this row, or run without --strict to skip bad rows and count them");
  skipped.push_back({file, line, reason, message});
}

std::map<std::string, int64_t> LoadReport::skipped_by_reason() const {
  std::map<std::string, int64_t> out;
  for (const SkippedRow& s : skipped) ++out[s.reason];
  return out;
}

namespace jsonl {

namespace {

// One row through `row`, every failure into the report.
void handle_row(const std::string& text, const std::string& file, int64_t line,
                LoadReport& report, bool strict,
                const std::function<void(const Json&, int64_t)>& row) {
  ++report.rows;
  Json j;
  try {
    j = Json::parse(nan_to_null(text));
  } catch (const Json::exception& e) {
    std::string why = e.what();
    // nlohmann's messages start with "[json.exception.parse_error.101] ".
    if (auto p = why.find("] "); p != std::string::npos) why = why.substr(p + 2);
    report.skip(file, line, kMalformedJson, "not valid JSON (" + why + ")", strict);
    return;
  }
  if (!j.is_object()) {
    report.skip(file, line, kNotObject,
                std::string("a row must be a JSON object, not ") + j.type_name(), strict);
    return;
  }
  try {
    row(j, line);
    ++report.rows_used;
  } catch (const RowError& e) {
    report.skip(file, line, e.reason, e.what(), strict);
  } catch (const Json::type_error& e) {
    report.skip(file, line, kWrongType, e.what(), strict);
  } catch (const Json::exception& e) {
    report.skip(file, line, kBadValue, e.what(), strict);
  }
}

}  // namespace

void for_each_line(std::istream& in, const std::string& file, LoadReport& report, bool strict,
                   const std::function<void(const Json&, int64_t)>& row) {
  report.files.push_back(file);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    report.bytes += static_cast<int64_t>(line.size()) + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    handle_row(line, file, n, report, strict, row);
  }
}

void for_each_element(std::string_view text, const std::string& file, LoadReport& report,
                      bool strict, const std::function<void(const Json&, int64_t)>& row) {
  size_t i = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (i == std::string_view::npos) {
    report.files.push_back(file);
    report.bytes += static_cast<int64_t>(text.size());
    return;
  }
  if (text[i] != '[') {
    std::istringstream in{std::string(text)};
    for_each_line(in, file, report, strict, row);
    return;
  }
  report.files.push_back(file);
  report.bytes += static_cast<int64_t>(text.size());
  int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n');
  ++i;  // past '['
  // Scan top-level elements: depth and string state only; each element is
  // then parsed by nlohmann on its own.
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
                               text[i] == '\n' || text[i] == ',')) {
      if (text[i] == '\n') ++line;
      ++i;
    }
    if (i >= text.size()) break;
    if (text[i] == ']') return;  // end of the array; trailing bytes ignored
    const size_t start = i;
    const int64_t start_line = line;
    int depth = 0;
    bool in_string = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\n') ++line;
      if (in_string) {
        if (c == '\\' && i + 1 < text.size()) {
          ++i;
          if (text[i] == '\n') ++line;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;  // the closing ']' of the array
        if (--depth == 0) {
          ++i;
          break;
        }
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (i == start) ++i;  // a stray '}' or ']' at the top: one malformed row, and move on
    handle_row(std::string(text.substr(start, i - start)), file, start_line, report, strict, row);
  }
  // Ran off the end without the closing ']'.
  ++report.rows;
  report.skip(file, line, kMalformedJson, "the JSON array is not closed with ']'", strict);
}

std::string read_file(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'", hint);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string type_message(const char* key, const char* want, const Json& got) {
  return std::string("\"") + key + "\" must be " + want + ", not " + got.type_name();
}

const Json* find(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

const Json& need(const Json& j, const char* key) {
  const Json* v = find(j, key);
  if (!v) throw RowError(kMissingField, std::string("missing key \"") + key + "\"");
  return *v;
}

std::string need_string(const Json& j, const char* key) {
  const Json& v = need(j, key);
  if (!v.is_string()) throw RowError(kWrongType, type_message(key, "a string", v));
  return v.get<std::string>();
}

std::string opt_string(const Json& j, const char* key) {
  const Json* v = find(j, key);
  if (!v) return "";
  if (!v->is_string()) throw RowError(kWrongType, type_message(key, "a string or null", *v));
  return v->get<std::string>();
}

std::string as_id(const Json& v, const char* key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  throw RowError(kWrongType, type_message(key, "a string or an integer", v));
}

std::string need_id(const Json& j, const char* key) {
  std::string id = as_id(need(j, key), key);
  if (id.empty()) throw RowError(kBadValue, std::string("\"") + key + "\" is empty");
  return id;
}

int64_t need_int(const Json& j, const char* key) {
  const Json& v = need(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
      return static_cast<int64_t>(d);
    throw RowError(kBadValue, std::string("\"") + key + "\" must be a whole number, not " + v.dump());
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    size_t used = 0;
    try {
      const long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
    throw RowError(kBadValue, std::string("\"") + key + "\" must be a whole number, not \"" + s + "\"");
  }
  throw RowError(kWrongType, type_message(key, "an integer", v));
}

std::optional<double> opt_number(const Json& j, const char* key) {
  const Json* v = find(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw RowError(kWrongType, type_message(key, "a number or null", *v));
  return v->get<double>();
}

bool opt_bool(const Json& j, const char* key, bool dflt) {
  const Json* v = find(j, key);
  if (!v) return dflt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer() && (v->get<int64_t>() == 0 || v->get<int64_t>() == 1))
    return v->get<int64_t>() == 1;
  throw RowError(kWrongType, type_message(key, "true or false", *v));
}

const Json& need_array(const Json& j, const char* key) {
  const Json& v = need(j, key);
  if (!v.is_array()) throw RowError(kWrongType, type_message(key, "a list", v));
  return v;
}

const Json& need_object(const Json& j, const char* key) {
  const Json& v = need(j, key);
  if (!v.is_object()) throw RowError(kWrongType, type_message(key, "an object", v));
  return v;
}

}  // namespace jsonl
}  // namespace pgenrm::data
