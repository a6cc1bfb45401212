// Falco's configuration sections that have a structure of their own:
// config_files drop-ins, `rules:` selectors, append_output, static_fields,
// syscall_event_drops.actions, durations ("1h", "15m30s"), and the keys
// Peregrine accepts with a warning because it has no equivalent.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "user/config/schema.h"
#include "user/io/input_file.h"

namespace pg::user::config::detail {

namespace fs = std::filesystem;

KeySpec unsupported(std::string_view name, std::string instead, std::vector<std::string> same) {
  return {name,
          [instead = std::move(instead), same = std::move(same)](
              const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            const std::string written = n.IsScalar()                      ? n.Scalar()
                                        : n.IsSequence() && n.size() == 0 ? "[]"
                                        : n.IsNull()                      ? "[]"
                                                                          : "";
            if (!written.empty() && std::find(same.begin(), same.end(), written) != same.end())
              return std::nullopt;
            ConfigError w = make_error(ConfigErrorCode::Unsupported, o, n, key,
                                       "Falco key without an equivalent in Peregrine; ignored",
                                       "instead: " + instead);
            w.warning = true;
            c.warnings.push_back(std::move(w));
            return std::nullopt;
          }};
}

Err read_rule_selection(const YAML::Node& n, const std::string& key, const Origins& o, Config& c) {
  c.rules_selection.clear();
  if (n.IsNull()) return std::nullopt;
  const char* form = "write e.g. rules: [{disable: {tag: network}}, {enable: {rule: \"Read *\"}}]";
  if (!n.IsSequence())
    return make_error(ConfigErrorCode::WrongType, o, n, key, "expected a list, got " + describe(n),
                      form);
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node& item = n[i];
    const std::string at = fmt::format("{}[{}]", key, i);
    if (!item.IsMap() || item.size() != 1)
      return make_error(ConfigErrorCode::WrongType, o, item, at,
                        "expected one 'enable:' or 'disable:' entry, got " + describe(item), form);
    const auto op = item.begin();
    const std::string verb = op->first.Scalar();
    if (verb != "enable" && verb != "disable")
      return make_error(ConfigErrorCode::BadValue, o, op->first, at + "." + verb,
                        "'" + verb + "' is neither enable nor disable", form);
    RuleSelector sel;
    sel.enable = verb == "enable";
    // A copy (a Node is a handle): yaml-cpp's iterator hands out a proxy
    // that dies with the expression, so a reference would dangle (found by
    // the config fuzzer: ASan stack-use-after-scope).
    const YAML::Node what = op->second;
    if (!what.IsMap())
      return make_error(ConfigErrorCode::WrongType, o, what, at + "." + verb,
                        "expected {rule: GLOB} and/or {tag: TAG}, got " + describe(what), form);
    for (auto it = what.begin(); it != what.end(); ++it) {
      const std::string k = it->first.Scalar();
      if ((k != "rule" && k != "tag") || !it->second.IsScalar())
        return make_error(ConfigErrorCode::BadValue, o, it->first, at + "." + verb + "." + k,
                          "a selector takes 'rule: GLOB' and/or 'tag: TAG'", form);
      (k == "rule" ? sel.rule : sel.tag) = it->second.Scalar();
    }
    if (sel.rule.empty() && sel.tag.empty())
      return make_error(ConfigErrorCode::Missing, o, what, at + "." + verb,
                        "the selector names neither a rule nor a tag", form);
    c.rules_selection.push_back(std::move(sel));
  }
  return std::nullopt;
}

Err read_append_output(const YAML::Node& n, const std::string& key, const Origins& o, Config& c) {
  c.append_output.clear();
  if (n.IsNull()) return std::nullopt;
  if (!n.IsSequence())
    return make_error(ConfigErrorCode::WrongType, o, n, key, "expected a list, got " + describe(n));
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node& item = n[i];
    const std::string at = fmt::format("{}[{}]", key, i);
    if (!item.IsMap())
      return make_error(ConfigErrorCode::WrongType, o, item, at,
                        "expected a map (match, extra_output, extra_fields, suggested_output)");
    AppendOutput a;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string k = it->first.Scalar();
      const YAML::Node v = it->second;  // a copy: see read_rule_selection
      const std::string kk = at + "." + k;
      if (k == "match") {
        if (!v.IsMap())
          return make_error(ConfigErrorCode::WrongType, o, v, kk,
                            "expected {source, rule, tags}, got " + describe(v));
        for (auto m = v.begin(); m != v.end(); ++m) {
          const std::string mk = m->first.Scalar();
          if (mk == "source" && m->second.IsScalar()) {
            a.source = m->second.Scalar();
          } else if (mk == "rule" && m->second.IsScalar()) {
            a.rule = m->second.Scalar();
          } else if (mk == "tags") {
            if (auto e = string_list(m->second, kk + ".tags", o, a.tags)) return e;
          } else {
            return make_error(ConfigErrorCode::BadValue, o, m->first, kk + "." + mk,
                              "a match takes source, rule and tags");
          }
        }
      } else if (k == "extra_output") {
        if (!v.IsScalar())
          return make_error(ConfigErrorCode::WrongType, o, v, kk,
                            "expected text, got " + describe(v));
        a.extra_output = v.Scalar();
      } else if (k == "extra_fields") {
        if (!v.IsSequence())
          return make_error(ConfigErrorCode::WrongType, o, v, kk,
                            "expected a list of field names or {name: format}");
        for (size_t j = 0; j < v.size(); ++j) {
          const YAML::Node& f = v[j];
          if (f.IsScalar()) {
            a.raw_fields.push_back(f.Scalar());
          } else if (f.IsMap() && f.size() == 1 && f.begin()->second.IsScalar()) {
            a.formatted_fields.emplace_back(f.begin()->first.Scalar(), f.begin()->second.Scalar());
          } else {
            return make_error(ConfigErrorCode::WrongType, o, f, fmt::format("{}[{}]", kk, j),
                              "expected a field name or {name: format}, got " + describe(f));
          }
        }
      } else if (k == "suggested_output") {
        if (auto e = read_bool(v, kk, o, a.suggested_output)) return e;
      } else {
        return make_error(ConfigErrorCode::UnknownKey, o, it->first, kk, "unknown key",
                          "an append_output entry takes match, extra_output, extra_fields and "
                          "suggested_output");
      }
    }
    c.append_output.push_back(std::move(a));
  }
  return std::nullopt;
}

Err read_static_fields(const YAML::Node& n, const std::string& key, const Origins& o, Config& c) {
  c.static_fields.clear();
  if (n.IsNull()) return std::nullopt;
  if (!n.IsMap())
    return make_error(ConfigErrorCode::WrongType, o, n, key,
                      "expected a map of field names to values, got " + describe(n),
                      "write e.g. static_fields: {cluster: prod-eu}");
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->second.IsScalar())
      return make_error(ConfigErrorCode::WrongType, o, it->second, key + "." + it->first.Scalar(),
                        "expected a text value, got " + describe(it->second));
    c.static_fields.emplace_back(it->first.Scalar(), it->second.Scalar());
  }
  return std::nullopt;
}

Err read_drop_actions(const YAML::Node& n, const std::string& key, const Origins& o, Config& c) {
  auto& d = c.syscall_event_drops;
  std::vector<std::string> actions;
  if (auto e = string_list(n, key, o, actions)) return e;
  d.log = d.alert = d.exit = false;
  for (size_t i = 0; i < actions.size(); ++i) {
    const auto& a = actions[i];
    if (a == "log")
      d.log = true;
    else if (a == "alert")
      d.alert = true;
    else if (a == "exit")
      d.exit = true;
    else if (a != "ignore")
      return make_error(ConfigErrorCode::BadValue, o, n.IsSequence() ? n[i] : n,
                        fmt::format("{}[{}]", key, i), "'" + a + "' is not an action",
                        "use ignore, log, alert or exit");
  }
  return std::nullopt;
}

Err read_duration(const YAML::Node& n, const std::string& key, const Origins& o,
                  std::int64_t& out_ms) {
  // Falco's form: numbers with units, concatenated ("1h30m", "15s", "500ms").
  const std::string text = n.IsScalar() ? n.Scalar() : "";
  std::int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    if (j == i || k == j) {
      any = false;
      break;
    }
    const std::int64_t v = std::stoll(text.substr(i, j - i));
    const std::string unit = text.substr(j, k - j);
    std::int64_t ms = 0;
    if (unit == "ms")
      ms = 1;
    else if (unit == "s")
      ms = 1000;
    else if (unit == "m")
      ms = 60'000;
    else if (unit == "h")
      ms = 3'600'000;
    else if (unit == "d")
      ms = 86'400'000;
    else {
      any = false;
      break;
    }
    total += v * ms;
    any = true;
    i = k;
  }
  if (!any)
    return make_error(ConfigErrorCode::BadValue, o, n, key, describe(n) + " is not a duration",
                      "write e.g. 15s, 15m, 1h or 1h30m");
  if (total < 100)
    return make_error(ConfigErrorCode::OutOfRange, o, n, key, text + " is too short",
                      "use at least 100ms");
  out_ms = total;
  return std::nullopt;
}

namespace {

enum class Strategy { Append, Override, AddOnly };

Err merge_one(YAML::Node& root, Origins& origins, const std::string& path, Strategy strategy) {
  YAML::Node doc;
  try {
    auto text = io::read_regular_file(path);
    if (!text) {
      ConfigError err;
      err.code = ConfigErrorCode::FileNotFound;
      err.file = path;
      err.message = "cannot read the configuration file: " + text.error();
      return err;
    }
    doc = YAML::Load(*text);
  } catch (const YAML::ParserException& e) {
    ConfigError err;
    err.code = ConfigErrorCode::Syntax;
    err.file = path;
    err.line = e.mark.line + 1;
    err.column = e.mark.column + 1;
    err.message = "not valid YAML: " + e.msg;
    return err;
  }
  origins.merged.push_back(path);
  if (!doc.IsDefined() || doc.IsNull()) return std::nullopt;
  expand_env_vars(doc);
  Origins here;
  here.file = path;
  if (!doc.IsMap())
    return make_error(ConfigErrorCode::WrongType, here, doc, "",
                      "a config_files drop-in must be a map of keys, got " + describe(doc));
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key == "config_files")
      return make_error(ConfigErrorCode::BadValue, here, it->first, key,
                        "a drop-in cannot include further files",
                        "list every drop-in in the main configuration file");
    YAML::Node existing = root[key];
    if (strategy == Strategy::AddOnly && existing.IsDefined()) continue;
    if (strategy == Strategy::Append && it->second.IsSequence() && existing.IsDefined() &&
        existing.IsSequence()) {
      for (const auto& item : it->second) existing.push_back(item);
    } else {
      root[key] = it->second;
    }
    origins.key_files[key] = path;
  }
  return std::nullopt;
}

}  // namespace

Err merge_config_files(YAML::Node& root, Origins& origins, const std::string& main_file) {
  if (!root.IsMap()) return std::nullopt;
  const YAML::Node list = root["config_files"];
  if (!list.IsDefined() || list.IsNull()) return std::nullopt;
  const std::string key = "config_files";
  if (!list.IsSequence() && !list.IsScalar())
    return make_error(ConfigErrorCode::WrongType, origins, list, key,
                      "expected a list of files or directories, got " + describe(list));
  std::vector<std::pair<std::string, Strategy>> entries;
  auto entry = [&](const YAML::Node& e, const std::string& at) -> Err {
    if (e.IsScalar()) {
      entries.emplace_back(e.Scalar(), Strategy::Append);
      return std::nullopt;
    }
    if (e.IsMap() && e["path"] && e["path"].IsScalar()) {
      Strategy s = Strategy::Append;
      if (e["strategy"]) {
        const std::string name = e["strategy"].IsScalar() ? e["strategy"].Scalar() : "";
        if (name == "override")
          s = Strategy::Override;
        else if (name == "add-only")
          s = Strategy::AddOnly;
        else if (name != "append")
          return make_error(ConfigErrorCode::BadValue, origins, e["strategy"], at + ".strategy",
                            describe(e["strategy"]) + " is not a merge strategy",
                            "use append, override or add-only");
      }
      entries.emplace_back(e["path"].Scalar(), s);
      return std::nullopt;
    }
    return make_error(ConfigErrorCode::WrongType, origins, e, at,
                      "expected a path or {path: P, strategy: append|override|add-only}");
  };
  if (list.IsScalar()) {
    if (auto e = entry(list, key)) return e;
  } else {
    for (size_t i = 0; i < list.size(); ++i)
      if (auto e = entry(list[i], fmt::format("{}[{}]", key, i))) return e;
  }
  std::error_code ec;
  for (const auto& [path, strategy] : entries) {
    if (!main_file.empty() && fs::equivalent(path, main_file, ec))
      return make_error(ConfigErrorCode::BadValue, origins, list, key,
                        "'" + path + "' is the main configuration file itself",
                        "remove it from config_files");
    // As in Falco, a path that does not exist is skipped: the stock
    // falco.yaml names /etc/falco/config.d whether or not it exists.
    if (fs::is_regular_file(path, ec)) {
      if (auto e = merge_one(root, origins, path, strategy)) return e;
    } else if (fs::is_directory(path, ec)) {
      std::vector<std::string> files;
      for (const auto& d : fs::directory_iterator(path,
                                                  fs::directory_options::follow_directory_symlink |
                                                      fs::directory_options::skip_permission_denied,
                                                  ec))
        if (d.is_regular_file(ec)) files.push_back(d.path().string());
      std::sort(files.begin(), files.end());
      for (const auto& f : files)
        if (auto e = merge_one(root, origins, f, strategy)) return e;
    } else if (fs::exists(path, ec)) {
      // A FIFO or a device: merge_one refuses it with the reason.
      if (auto e = merge_one(root, origins, path, strategy)) return e;
    }
  }
  return std::nullopt;
}

}  // namespace pg::user::config::detail
