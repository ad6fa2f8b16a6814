#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace pgenrm::core {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool parse_int(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}

bool parse_float(const std::string& s, double* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(*out);
}

bool parse_bool(const std::string& s, bool* out) {
  const std::string l = lower(s);
  if (l == "true" || l == "yes" || l == "on") return *out = true, true;
  if (l == "false" || l == "no" || l == "off") return *out = false, true;
  return false;
}

std::string fmt_double(double v) { return fmt::format("{}", v); }

std::string node_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsNull()) return "null";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

}  // namespace

// ---------------------------------------------------------------- Option ----

Option& Option::range(double lo, double hi) {
  has_lo_ = has_hi_ = true;
  lo_ = lo;
  hi_ = hi;
  return *this;
}

Option& Option::min(double lo) {
  has_lo_ = true;
  lo_ = lo;
  return *this;
}

Option& Option::choices(std::vector<std::string> allowed) {
  choices_ = std::move(allowed);
  return *this;
}

std::string Option::type_name() const {
  switch (kind_) {
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kIntList: return "list[int]";
    case Kind::kFloatList: return "list[float]";
    case Kind::kStringList: return "list[string]";
  }
  return "?";
}

std::string Option::allowed_text() const {
  if (!choices_.empty()) {
    std::string s = "one of ";
    for (size_t i = 0; i < choices_.size(); ++i) s += (i ? ", " : "") + choices_[i];
    return s;
  }
  if (has_lo_ && has_hi_) return fmt::format("{} .. {}", fmt_double(lo_), fmt_double(hi_));
  if (has_lo_) return fmt::format(">= {}", fmt_double(lo_));
  return "";
}

std::string Option::value_text() const {
  YAML::Emitter e;
  e << YAML::Flow;
  emit(&e);
  return e.c_str();
}

void Option::emit(void* emitter) const {
  auto& e = *static_cast<YAML::Emitter*>(emitter);
  switch (kind_) {
    case Kind::kBool: e << (*static_cast<bool*>(field_) ? "true" : "false"); break;
    case Kind::kInt: e << *static_cast<int64_t*>(field_); break;
    case Kind::kFloat: e << fmt_double(*static_cast<double*>(field_)); break;
    case Kind::kString: e << YAML::DoubleQuoted << *static_cast<std::string*>(field_); break;
    case Kind::kIntList:
      e << YAML::Flow << YAML::BeginSeq;
      for (auto v : *static_cast<std::vector<int64_t>*>(field_)) e << v;
      e << YAML::EndSeq;
      break;
    case Kind::kFloatList:
      e << YAML::Flow << YAML::BeginSeq;
      for (auto v : *static_cast<std::vector<double>*>(field_)) e << fmt_double(v);
      e << YAML::EndSeq;
      break;
    case Kind::kStringList:
      e << YAML::Flow << YAML::BeginSeq;
      for (auto& v : *static_cast<std::vector<std::string>*>(field_)) e << YAML::DoubleQuoted << v;
      e << YAML::EndSeq;
      break;
  }
}

void Option::set_from(const YAML::Node& node, const std::string& where) {
  const std::string shown = node_text(node);
  auto fail = [&](const std::string& expected) {
    std::string allowed = allowed_text();
    throw ConfigError(fmt::format("{}: {} = '{}': expected {}{}", where, key_, shown, expected,
                                  allowed.empty() ? "" : " (allowed: " + allowed + ")"),
                      fmt::format("`pgenrm <subcommand> --help-config` lists every option; "
                                  "{}: {}",
                                  key_, help_));
  };
  auto check_range = [&](double v, const std::string& expected) {
    if ((has_lo_ && v < lo_) || (has_hi_ && v > hi_)) fail(expected + " in range");
  };
  const bool list = kind_ == Kind::kIntList || kind_ == Kind::kFloatList ||
                    kind_ == Kind::kStringList;
  if (list) {
    if (!node.IsSequence()) fail("a list such as [a, b]");
    for (const auto& item : node)
      if (!item.IsScalar()) fail("a flat list of scalars");
  } else if (!node.IsScalar()) {
    fail(kind_ == Kind::kString ? "a string (use \"\" for empty)" : "a single " + type_name());
  }

  switch (kind_) {
    case Kind::kBool: {
      bool v;
      if (!parse_bool(node.Scalar(), &v)) fail("true or false");
      *static_cast<bool*>(field_) = v;
      break;
    }
    case Kind::kInt: {
      int64_t v;
      if (!parse_int(node.Scalar(), &v)) fail("an integer");
      check_range(static_cast<double>(v), "an integer");
      *static_cast<int64_t*>(field_) = v;
      break;
    }
    case Kind::kFloat: {
      double v;
      if (!parse_float(node.Scalar(), &v)) fail("a finite number");
      check_range(v, "a number");
      *static_cast<double*>(field_) = v;
      break;
    }
    case Kind::kString: {
      const std::string& v = node.Scalar();
      if (!choices_.empty() &&
          std::find(choices_.begin(), choices_.end(), v) == choices_.end())
        fail("a known value");
      *static_cast<std::string*>(field_) = v;
      break;
    }
    case Kind::kIntList: {
      std::vector<int64_t> out;
      for (const auto& item : node) {
        int64_t v;
        if (!parse_int(item.Scalar(), &v)) fail("a list of integers");
        check_range(static_cast<double>(v), "integers");
        out.push_back(v);
      }
      *static_cast<std::vector<int64_t>*>(field_) = std::move(out);
      break;
    }
    case Kind::kFloatList: {
      std::vector<double> out;
      for (const auto& item : node) {
        double v;
        if (!parse_float(item.Scalar(), &v)) fail("a list of finite numbers");
        check_range(v, "numbers");
        out.push_back(v);
      }
      *static_cast<std::vector<double>*>(field_) = std::move(out);
      break;
    }
    case Kind::kStringList: {
      std::vector<std::string> out;
      for (const auto& item : node) {
        if (!choices_.empty() &&
            std::find(choices_.begin(), choices_.end(), item.Scalar()) == choices_.end())
          fail("a list of known values");
        out.push_back(item.Scalar());
      }
      *static_cast<std::vector<std::string>*>(field_) = std::move(out);
      break;
    }
  }
}

// ---------------------------------------------------------------- Schema ----

Schema::Schema() = default;
Schema::~Schema() = default;

Option& Schema::add_impl(const std::string& key, Option::Kind kind, void* field,
                         const std::string& help) {
  PGENRM_CHECK(find(key) == nullptr, "option declared twice: " + key,
               "each option is declared once, in core/options.cpp");
  for (const auto& o : options_) {
    PGENRM_CHECK(o->key().rfind(key + ".", 0) != 0 && key.rfind(o->key() + ".", 0) != 0,
                 "option " + key + " collides with section/option " + o->key(),
                 "a key is either a section or an option, not both");
  }
  auto opt = std::make_unique<Option>();
  opt->key_ = key;
  opt->kind_ = kind;
  opt->field_ = field;
  opt->help_ = help;
  options_.push_back(std::move(opt));
  Option& o = *options_.back();
  o.default_text_ = o.value_text();
  return o;
}

Option& Schema::add(const std::string& k, bool* f, const std::string& h) {
  return add_impl(k, Option::Kind::kBool, f, h);
}
Option& Schema::add(const std::string& k, int64_t* f, const std::string& h) {
  return add_impl(k, Option::Kind::kInt, f, h);
}
Option& Schema::add(const std::string& k, double* f, const std::string& h) {
  return add_impl(k, Option::Kind::kFloat, f, h);
}
Option& Schema::add(const std::string& k, std::string* f, const std::string& h) {
  return add_impl(k, Option::Kind::kString, f, h);
}
Option& Schema::add(const std::string& k, std::vector<int64_t>* f, const std::string& h) {
  return add_impl(k, Option::Kind::kIntList, f, h);
}
Option& Schema::add(const std::string& k, std::vector<double>* f, const std::string& h) {
  return add_impl(k, Option::Kind::kFloatList, f, h);
}
Option& Schema::add(const std::string& k, std::vector<std::string>* f, const std::string& h) {
  return add_impl(k, Option::Kind::kStringList, f, h);
}

const Option* Schema::find(const std::string& key) const {
  for (const auto& o : options_)
    if (o->key() == key) return o.get();
  return nullptr;
}

std::vector<const Option*> Schema::options() const {
  std::vector<const Option*> out;
  for (const auto& o : options_) out.push_back(o.get());
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Schema::closest_key(const std::string& key) const {
  std::string best;
  size_t best_d = std::string::npos;
  auto consider = [&](const std::string& cand) {
    size_t d = edit_distance(key, cand);
    if (d < best_d) best_d = d, best = cand;
  };
  for (const auto& o : options_) {
    consider(o->key());
    // sections too, so "trainr: {...}" suggests "trainer"
    for (size_t p = o->key().find('.'); p != std::string::npos; p = o->key().find('.', p + 1))
      consider(o->key().substr(0, p));
  }
  size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_d <= limit ? best : "";
}

void Schema::apply_node(const YAML::Node& root, const std::string& source) {
  std::vector<std::string> errors;
  // Snapshot so that a file with any error changes nothing.
  std::vector<std::string> before;
  for (const auto& o : options_) before.push_back(o->value_text());

  auto is_section = [&](const std::string& key) {
    for (const auto& o : options_)
      if (o->key().rfind(key + ".", 0) == 0) return true;
    return false;
  };
  std::function<void(const YAML::Node&, const std::string&)> walk =
      [&](const YAML::Node& map, const std::string& prefix) {
        for (auto it = map.begin(); it != map.end(); ++it) {
          const std::string name = it->first.as<std::string>();
          const std::string key = prefix.empty() ? name : prefix + "." + name;
          const std::string where =
              fmt::format("{}:{}", source, it->first.Mark().line + 1);
          if (Option* opt = const_cast<Option*>(find(key))) {
            try {
              opt->set_from(it->second, where);
            } catch (const ConfigError& e) {
              errors.push_back(e.what());
            }
          } else if (is_section(key)) {
            if (it->second.IsMap()) {
              walk(it->second, key);
            } else if (!it->second.IsNull()) {
              errors.push_back(fmt::format(
                  "{}: '{}' is a section; expected a mapping of its options", where, key));
            }
          } else {
            std::string near = closest_key(key);
            errors.push_back(fmt::format("{}: unknown key '{}'{}", where, key,
                                         near.empty() ? "" : " — did you mean " + near + "?"));
          }
        }
      };
  if (root.IsMap()) {
    walk(root, "");
  } else if (!root.IsNull()) {
    errors.push_back(source + ": expected a mapping of config sections at the top level");
  }
  if (!errors.empty()) {
    for (size_t i = 0; i < options_.size(); ++i)
      options_[i]->set_from(YAML::Load(before[i]), "restore");
    std::string msg = "invalid configuration:";
    for (const auto& e : errors) msg += "\n  " + e;
    throw ConfigError(msg, "`pgenrm <subcommand> --help-config` lists every option with its "
                           "type, default and allowed values");
  }
}

void Schema::load_string(const std::string& text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}: not valid YAML: {}", source_name, e.mark.line + 1, e.msg),
                      "check indentation and quoting near that line");
  }
  apply_node(root, source_name);
}

void Schema::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw ConfigError("cannot read config file '" + path + "'",
                      "check the path given to --config (configs/demo.yaml is the default recipe)");
  std::stringstream ss;
  ss << in.rdbuf();
  load_string(ss.str(), path);
}

void Schema::apply_override(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("command line: '" + assignment + "' is not an override",
                      "write overrides as dotted.key=value, e.g. trainer.lr=1e-4");
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  Option* opt = const_cast<Option*>(find(key));
  if (!opt) {
    std::string near = closest_key(key);
    throw ConfigError("command line: unknown key '" + key + "'" +
                          (near.empty() ? "" : " — did you mean " + near + "?"),
                      "`pgenrm <subcommand> --help-config` lists every option");
  }
  YAML::Node node;
  if (opt->kind_ == Option::Kind::kString) {
    // A string is taken literally ("run.name=a: b #1" is that name), less
    // one pair of surrounding quotes.
    std::string v = value;
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    node = YAML::Node(v);
  } else {
    try {
      node = YAML::Load(value);
    } catch (const YAML::Exception&) {
      node = YAML::Node(value);  // not YAML: let the type check reject it by name
    }
    if (node.IsNull()) node = YAML::Node(value);
  }
  opt->set_from(node, "command line");
}

void Schema::apply_overrides(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) apply_override(a);
}

namespace {
struct Tree {
  std::string name;
  const Option* opt = nullptr;
  std::vector<std::unique_ptr<Tree>> kids;
  Tree* child(const std::string& n) {
    for (auto& k : kids)
      if (k->name == n) return k.get();
    kids.push_back(std::make_unique<Tree>());
    kids.back()->name = n;
    return kids.back().get();
  }
};
}  // namespace

std::string Schema::dump() const {
  Tree root;
  for (const auto& o : options_) {
    Tree* t = &root;
    std::string k = o->key();
    size_t start = 0;
    for (size_t p = k.find('.'); p != std::string::npos; start = p + 1, p = k.find('.', start))
      t = t->child(k.substr(start, p - start));
    t->child(k.substr(start))->opt = o.get();
  }
  YAML::Emitter e;
  std::function<void(const Tree&)> emit = [&](const Tree& t) {
    e << YAML::BeginMap;
    for (const auto& k : t.kids) {
      e << YAML::Key << k->name << YAML::Value;
      if (k->opt) {
        k->opt->emit(&e);
        e << YAML::Comment(k->opt->help());
      } else {
        emit(*k);
      }
    }
    e << YAML::EndMap;
  };
  emit(root);
  return std::string(e.c_str()) + "\n";
}

std::string Schema::help_table() const {
  std::string out;
  for (const auto& o : options_) {
    std::string allowed = o->allowed_text();
    out += fmt::format("  {:<34} {:<12} default {}{}\n      {}\n", o->key(), o->type_name(),
                       o->default_text(), allowed.empty() ? "" : "; " + allowed, o->help());
  }
  return out;
}

}  // namespace pgenrm::core
