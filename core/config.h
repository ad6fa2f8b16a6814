// The typed configuration schema: every option is declared once — dotted
// key, C++ type (from the bound field), default (the field's value when it is
// declared), help, and its allowed range or choices — and that one record
// drives YAML parsing, command-line overrides, validation, `--help-config`
// and the dump of the resolved config. Nothing here knows what an option
// means; the declarations live in core/options.cpp.
//
// Errors name the source (file:line or "command line"), the key, the bad
// value and what is allowed; an unknown key gets the closest valid one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace YAML {
class Node;
}

namespace pgenrm::core {

class ConfigError : public Error {
 public:
  using Error::Error;
};

// One declared option. Built by Schema::add; the fluent setters add limits.
class Option {
 public:
  Option& range(double lo, double hi);  // inclusive; numbers and number lists
  Option& min(double lo);
  Option& choices(std::vector<std::string> allowed);  // strings

  const std::string& key() const { return key_; }
  const std::string& help() const { return help_; }
  std::string type_name() const;
  std::string default_text() const { return default_text_; }
  std::string value_text() const;  // current value, YAML flow syntax
  std::string allowed_text() const;  // "" when anything of the type goes

 private:
  friend class Schema;
  enum class Kind { kBool, kInt, kFloat, kString, kIntList, kFloatList, kStringList };
  // Parses and validates `node`, then stores it. `where` prefixes errors.
  void set_from(const YAML::Node& node, const std::string& where);
  void emit(void* emitter) const;

  std::string key_, help_, default_text_;
  Kind kind_{};
  void* field_ = nullptr;
  bool has_lo_ = false, has_hi_ = false;
  double lo_ = 0, hi_ = 0;
  std::vector<std::string> choices_;
};

class Schema {
 public:
  Schema();
  ~Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  Option& add(const std::string& key, bool* field, const std::string& help);
  Option& add(const std::string& key, int64_t* field, const std::string& help);
  Option& add(const std::string& key, double* field, const std::string& help);
  Option& add(const std::string& key, std::string* field, const std::string& help);
  Option& add(const std::string& key, std::vector<int64_t>* field, const std::string& help);
  Option& add(const std::string& key, std::vector<double>* field, const std::string& help);
  Option& add(const std::string& key, std::vector<std::string>* field, const std::string& help);

  // Applies a YAML file. All problems in the file are reported together in
  // one ConfigError (one line each), and nothing is applied when any exists.
  void load_file(const std::string& path);
  void load_string(const std::string& yaml_text, const std::string& source_name);
  // "dotted.key=value"; the value is read as YAML (so lists work: "[1, 2]").
  void apply_override(const std::string& assignment);
  void apply_overrides(const std::vector<std::string>& assignments);

  // Resolved config as nested YAML, each option preceded by its help.
  std::string dump() const;
  // A table of every option: key, type, default, allowed values, help.
  std::string help_table() const;

  const Option* find(const std::string& key) const;
  std::vector<const Option*> options() const;
  // The declared key closest to `key` (edit distance), or "" if none is near.
  std::string closest_key(const std::string& key) const;

 private:
  Option& add_impl(const std::string& key, Option::Kind kind, void* field,
                   const std::string& help);
  void apply_node(const YAML::Node& root, const std::string& source);

  std::vector<std::unique_ptr<Option>> options_;
};

// Levenshtein distance; exposed for tests.
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace pgenrm::core
