// The building blocks of the configuration schema (internal to user/config):
// a key is a name plus either a function that reads its value into Config
// or a list of child keys. Errors and warnings go into a Problems list so a
// single pass reports every problem of a file (`run --dry-run`).
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "user/config/detail.h"

namespace pg::user::config::detail {

using Err = std::optional<ConfigError>;
using Apply =
    std::function<Err(const YAML::Node&, const std::string& key, const Origins&, Config&)>;

struct KeySpec {
  KeySpec(std::string_view n, Apply a) : name(n), apply(std::move(a)) {}
  KeySpec(std::string_view n, std::vector<KeySpec> c) : name(n), children(std::move(c)) {}
  std::string_view name;
  Apply apply;                    // for a value
  std::vector<KeySpec> children;  // for a section
};

inline std::string describe(const YAML::Node& n) {
  if (n.IsNull()) return "nothing (null)";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "'" + n.Scalar() + "'";
}

inline Err read_bool(const YAML::Node& n, const std::string& key, const Origins& o, bool& out) {
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out))
    return make_error(ConfigErrorCode::WrongType, o, n, key,
                      "expected true or false, got " + describe(n));
  return std::nullopt;
}

template <class Get>
KeySpec boolean(std::string_view name, Get get) {
  return {name,
          [get](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            bool v = false;
            if (auto e = read_bool(n, key, o, v)) return e;
            get(c) = v;
            return std::nullopt;
          }};
}

template <class Get>
KeySpec integer(std::string_view name, Get get, long long min, long long max,
                const std::string& unit = {}) {
  return {
      name, [=](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
        long long v = 0;
        if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v))
          return make_error(ConfigErrorCode::WrongType, o, n, key,
                            "expected a whole number" + (unit.empty() ? "" : " of " + unit) +
                                ", got " + describe(n));
        if (v < min || v > max)
          return make_error(
              ConfigErrorCode::OutOfRange, o, n, key, fmt::format("{} is out of range", v),
              fmt::format("use a value from {} to {}{}", min, max, unit.empty() ? "" : " " + unit));
        get(c) = static_cast<std::remove_reference_t<decltype(get(c))>>(v);
        return std::nullopt;
      }};
}

template <class Get>
KeySpec real(std::string_view name, Get get, double min, double max) {
  return {name,
          [=](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            double v = 0;
            if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
              return make_error(ConfigErrorCode::WrongType, o, n, key,
                                "expected a number, got " + describe(n));
            if (!(v >= min && v <= max))
              return make_error(ConfigErrorCode::OutOfRange, o, n, key,
                                fmt::format("{} is out of range", v),
                                fmt::format("use a value from {} to {}", min, max));
            get(c) = v;
            return std::nullopt;
          }};
}

// Strings accept any scalar (a numeric-looking path is still a path); an
// empty value (`key:`) means "".
template <class Get>
KeySpec string(std::string_view name, Get get) {
  return {name,
          [get](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            if (n.IsNull()) {
              get(c).clear();
              return std::nullopt;
            }
            if (!n.IsScalar())
              return make_error(ConfigErrorCode::WrongType, o, n, key,
                                "expected a text value, got " + describe(n));
            get(c) = n.Scalar();
            return std::nullopt;
          }};
}

template <class Get, class Parse>
KeySpec choice(std::string_view name, Get get, Parse parse, const std::string& allowed) {
  return {name,
          [=](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            if (n.IsScalar())
              if (auto v = parse(n.Scalar())) {
                get(c) = *v;
                return std::nullopt;
              }
            return make_error(ConfigErrorCode::BadValue, o, n, key,
                              describe(n) + " is not an accepted value", "use one of: " + allowed);
          }};
}

// A Falco key Peregrine has no equivalent for: accepted with one warning
// saying what Peregrine does instead. `same` lists the values (as written,
// "[]" for an empty list) that ask for what Peregrine does anyway; they
// need no warning.
KeySpec unsupported(std::string_view name, std::string instead, std::vector<std::string> same = {});

Err string_list(const YAML::Node& n, const std::string& key, const Origins& o,
                std::vector<std::string>& out);

// Falco's sections with their own structure (falco_keys.cpp).
Err read_rule_selection(const YAML::Node& n, const std::string& key, const Origins& o, Config& c);
Err read_append_output(const YAML::Node& n, const std::string& key, const Origins& o, Config& c);
Err read_static_fields(const YAML::Node& n, const std::string& key, const Origins& o, Config& c);
Err read_drop_actions(const YAML::Node& n, const std::string& key, const Origins& o, Config& c);
Err read_duration(const YAML::Node& n, const std::string& key, const Origins& o,
                  std::int64_t& out_ms);

// config_files: merge Falco-style drop-ins into `root` (files and
// directories, strategies append / override / add-only). Records which
// file each merged top-level key came from in `origins`.
Err merge_config_files(YAML::Node& root, Origins& origins, const std::string& main_file);

}  // namespace pg::user::config::detail
