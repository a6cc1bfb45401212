#include "policy/reader.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "policy/version.h"

namespace pg::policy {
namespace {

// Thrown for a malformed item; the item is skipped, the file goes on.
struct ItemError {
  Code code;
  Location loc;
  std::string message;
};

class Reader {
 public:
  Reader(const std::shared_ptr<const SourceFile>& file, Diagnostics& diags)
      : file_(file), diags_(diags) {}

  std::vector<RawItem> run() {
    // Falco reads every YAML document of a rules file (`---` separated), each
    // a sequence of items. We split the documents ourselves and Load each:
    // yaml-cpp 0.7's LoadAll can loop forever on some malformed input (found
    // by our loader fuzzer; Falco hit the same, falcosecurity/falco#3281).
    for (const std::string& text : documents()) {
      if (stop_) break;
      YAML::Node doc;
      try {
        doc = YAML::Load(text);
      } catch (const YAML::ParserException& e) {
        error(Code::ErrYamlParse, ItemType::None, "", loc(e.mark),
              e.msg + " (fix the YAML syntax)");
        return {};
      } catch (const YAML::Exception& e) {
        error(Code::ErrYamlParse, ItemType::None, "", loc(e.mark), e.msg);
        return {};
      }
      if (!doc || doc.IsNull()) continue;
      if (!doc.IsSequence()) {
        error(Code::ErrYamlValidate, ItemType::None, "", loc(doc.Mark()),
              "a rules file must be a YAML sequence of items (- rule: ..., - macro: ..., - list: "
              "...)");
        return {};
      }
      for (const auto& item : doc) {
        if (stop_) break;
        read_item(item);
      }
    }
    return std::move(items_);
  }

 private:
  // The file's documents, split at `---` lines (a marker is always at
  // column 0, so block scalars cannot hold one). Each keeps the file's line
  // numbers: the lines of the other documents are blank in it, the marker
  // itself is blanked out, so marks point into the file as written.
  std::vector<std::string> documents() const {
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [first, last) lines
    std::size_t begin = 0;
    const auto& lines = file_->lines;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string_view l = lines[i];
      bool marker = l.starts_with("---") && (l.size() == 3 || l[3] == ' ' || l[3] == '\t');
      if (!marker) continue;
      if (i > begin) ranges.emplace_back(begin, i);
      begin = i;  // the marker line belongs to its document (blanked below)
    }
    ranges.emplace_back(begin, lines.size());
    if (ranges.size() == 1) return {file_->content};
    std::vector<std::string> docs;
    for (const auto& [first, last] : ranges) {
      std::string text(first, '\n');
      for (std::size_t i = first; i < last; ++i) {
        std::string_view l = lines[i];
        if (i == first && l.starts_with("---"))
          text += std::string(3, ' ') + std::string(l.substr(3));
        else
          text += l;
        text += '\n';
      }
      docs.push_back(std::move(text));
    }
    return docs;
  }

  Location loc(const YAML::Mark& m) const {
    if (m.is_null()) return Location{file_->path, 0, 0};
    return Location{file_->path, m.line + 1, m.column + 1};
  }

  void error(Code c, ItemType t, std::string name, Location l, std::string msg) {
    diags_.add(Diagnostic{c, t, std::move(name), std::move(l), std::move(msg), {}, 0});
  }

  static std::string scalar(const YAML::Node& n, Location l, const char* what) {
    if (!n.IsScalar())
      throw ItemError{Code::ErrYamlValidate, l, std::string("'") + what + "' must be a string"};
    return n.Scalar();
  }

  bool boolean(const YAML::Node& n, Location l, const char* what) {
    bool b = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
      throw ItemError{Code::ErrYamlValidate, l,
                      std::string("'") + what + "' must be true or false"};
    return b;
  }

  MappedText mapped(const YAML::Node& n, const Location& l, const char* what) {
    auto s = scalar(n, l, what);
    return MappedText(std::move(s), file_, loc(n.Mark()));
  }

  std::vector<std::string> string_list(const YAML::Node& n, Location l, const char* what) {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence())
      throw ItemError{Code::ErrYamlValidate, l,
                      std::string("'") + what + "' must be a list of strings"};
    for (const auto& e : n) out.push_back(scalar(e, loc(e.Mark()), what));
    return out;
  }

  void read_item(const YAML::Node& item) {
    Location item_loc = loc(item.Mark());
    // A bare `-` (an empty item) is skipped, as Falco skips it: rules
    // files of 2023 (the k8saudit plugin's among them) contain one.
    if (item.IsNull()) return;
    if (!item.IsMap() || item.size() == 0) {
      error(Code::ErrYamlValidate, ItemType::None, "", item_loc,
            "each item must be a mapping such as '- rule: NAME' (found a " +
                std::string(item.IsSequence() ? "sequence" : "scalar") + ")");
      return;
    }
    ItemType type = ItemType::None;
    for (const auto& kv : item) {
      auto k = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (k == "rule")
        type = ItemType::Rule;
      else if (k == "macro")
        type = ItemType::Macro;
      else if (k == "list")
        type = ItemType::List;
      else if (k == "required_engine_version")
        type = ItemType::RequiredEngineVersion;
      else if (k == "required_plugin_versions")
        type = ItemType::RequiredPluginVersions;
      else
        continue;
      break;
    }
    try {
      switch (type) {
        case ItemType::Rule:
          items_.push_back(read_rule(item, item_loc));
          break;
        case ItemType::Macro:
          items_.push_back(read_macro(item, item_loc));
          break;
        case ItemType::List:
          items_.push_back(read_list(item, item_loc));
          break;
        case ItemType::RequiredEngineVersion:
          read_engine_version(item, item_loc);
          break;
        case ItemType::RequiredPluginVersions:
          read_plugin_versions(item, item_loc);
          break;
        default: {
          auto first = item.begin()->first;
          std::string k = first.IsScalar() ? first.Scalar() : "?";
          error(Code::UnknownItem, ItemType::None, "", item_loc,
                "unknown item '" + k +
                    "' ignored (expected rule, macro, list, "
                    "required_engine_version or required_plugin_versions)");
        }
      }
    } catch (const ItemError& e) {
      error(e.code, type, current_name_, e.loc, e.message);
    } catch (const YAML::Exception& e) {
      error(Code::ErrYamlValidate, type, current_name_, loc(e.mark), e.msg);
    }
  }

  // Fills the ItemBase and returns the remaining keys for the caller.
  void read_base(const YAML::Node& item, Location item_loc, const char* kind, ItemBase& base,
                 const std::set<std::string>& known, const std::set<std::string>& appendable,
                 const std::set<std::string>& replaceable, ItemType type) {
    base.loc = item_loc;
    current_name_.clear();
    const YAML::Node name = item[kind];
    base.name = scalar(name, loc(name.Mark()), kind);
    current_name_ = base.name;
    if (base.name.empty())
      throw ItemError{Code::ErrYamlValidate, item_loc,
                      std::string(kind) + " name must not be empty"};
    for (const auto& kv : item) {
      Location kl = loc(kv.first.Mark());
      std::string k = scalar(kv.first, kl, "key");
      if (k == kind) continue;
      if (!known.contains(k)) {
        error(Code::UnknownKey, type, base.name, kl,
              "unknown key '" + k + "' ignored (check the spelling)");
        continue;
      }
      base.keys[k] = kl;
    }
    if (auto a = item["append"]) base.append = boolean(a, loc(a.Mark()), "append");
    if (auto o = item["override"]) {
      Location ol = loc(o.Mark());
      if (!o.IsMap())
        throw ItemError{Code::ErrYamlValidate, ol, "'override' must map keys to append or replace"};
      if (base.keys.contains("append"))
        throw ItemError{Code::ErrValidate, ol,
                        "'override' and 'append' cannot be used together; "
                        "use override only"};
      base.has_override = true;
      for (const auto& kv : o) {
        Location kl = loc(kv.first.Mark());
        std::string k = scalar(kv.first, kl, "override key");
        std::string mode = scalar(kv.second, loc(kv.second.Mark()), "override mode");
        OverrideMode m;
        if (mode == "append")
          m = OverrideMode::Append;
        else if (mode == "replace")
          m = OverrideMode::Replace;
        else
          throw ItemError{
              Code::ErrValidate, loc(kv.second.Mark()),
              "override mode for '" + k + "' must be 'append' or 'replace', not '" + mode + "'"};
        const auto& allowed = m == OverrideMode::Append ? appendable : replaceable;
        if (!allowed.contains(k)) {
          std::string list;
          for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
          throw ItemError{
              Code::ErrValidate, kl,
              "key '" + k + "' cannot be overridden with " + mode + " (allowed: " + list + ")"};
        }
        if (!base.keys.contains(k))
          throw ItemError{Code::ErrValidate, kl,
                          "override lists '" + k + "' but the item does not set it"};
        base.overrides[k] = m;
      }
      for (const auto& [k, kl] : base.keys)
        if (k != "override" && !base.overrides.contains(k))
          throw ItemError{
              Code::ErrValidate, kl,
              "key '" + k + "' is set on an override item but not listed under 'override'"};
    }
  }

  RawRule read_rule(const YAML::Node& item, const Location& item_loc) {
    static const std::set<std::string> kKnown{"desc",
                                              "condition",
                                              "output",
                                              "priority",
                                              "source",
                                              "tags",
                                              "enabled",
                                              "exceptions",
                                              "override",
                                              "append",
                                              "skip-if-unknown-filter",
                                              "warn_evttypes",
                                              "capture",
                                              "capture_duration"};
    static const std::set<std::string> kAppend{"condition", "output", "desc", "tags", "exceptions"};
    static const std::set<std::string> kReplace{"condition",
                                                "output",
                                                "desc",
                                                "priority",
                                                "tags",
                                                "exceptions",
                                                "enabled",
                                                "warn_evttypes",
                                                "skip-if-unknown-filter",
                                                "capture",
                                                "capture_duration"};
    RawRule r;
    read_base(item, item_loc, "rule", r, kKnown, kAppend, kReplace, ItemType::Rule);
    for (const auto& [k, kl] : r.keys) {
      const YAML::Node v = item[k];
      if (k == "condition")
        r.condition = mapped(v, kl, "condition");
      else if (k == "output")
        r.output = mapped(v, kl, "output");
      else if (k == "desc")
        r.desc = scalar(v, kl, "desc");
      else if (k == "priority")
        r.priority = Located<std::string>{scalar(v, kl, "priority"), loc(v.Mark())};
      else if (k == "source")
        r.source = Located<std::string>{scalar(v, kl, "source"), loc(v.Mark())};
      else if (k == "tags")
        r.tags = string_list(v, kl, "tags");
      else if (k == "enabled")
        r.enabled = boolean(v, kl, "enabled");
      else if (k == "skip-if-unknown-filter")
        r.skip_if_unknown_filter = boolean(v, kl, k.c_str());
      else if (k == "warn_evttypes")
        r.warn_evttypes = boolean(v, kl, "warn_evttypes");
      else if (k == "exceptions")
        r.exceptions = read_exceptions(v, kl);
      else if (k == "capture")
        (void)boolean(v, kl, "capture");
      else if (k == "capture_duration")
        (void)scalar(v, kl, "capture_duration");
    }
    return r;
  }

  std::vector<ExceptionSpec> read_exceptions(const YAML::Node& n, Location l) {
    std::vector<ExceptionSpec> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence())
      throw ItemError{Code::ErrYamlValidate, l,
                      "'exceptions' must be a list of {name, fields, comps, values}"};
    for (const auto& e : n) {
      Location el = loc(e.Mark());
      if (!e.IsMap())
        throw ItemError{Code::ErrYamlValidate, el, "each exception must be a mapping"};
      ExceptionSpec x;
      x.loc = el;
      for (const auto& kv : e) {
        std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (k != "name" && k != "fields" && k != "comps" && k != "values")
          error(Code::UnknownKey, ItemType::Rule, current_name_, loc(kv.first.Mark()),
                "unknown exception key '" + k + "' ignored (expected name, fields, comps, values)");
      }
      if (!e["name"]) throw ItemError{Code::ErrYamlValidate, el, "exception has no 'name'"};
      x.name = scalar(e["name"], loc(e["name"].Mark()), "name");
      if (auto f = e["fields"]) {
        if (f.IsSequence()) {
          x.fields_is_list = true;
          x.fields = string_list(f, loc(f.Mark()), "fields");
        } else {
          x.fields.push_back(scalar(f, loc(f.Mark()), "fields"));
        }
      }
      if (auto c = e["comps"]) {
        x.comps_given = true;
        if (c.IsSequence()) {
          x.comps_is_list = true;
          x.comps = string_list(c, loc(c.Mark()), "comps");
        } else {
          x.comps.push_back(scalar(c, loc(c.Mark()), "comps"));
        }
      }
      if (auto v = e["values"]) {
        x.values_loc = loc(v.Mark());
        if (!v.IsNull() && !v.IsSequence())
          throw ItemError{Code::ErrYamlValidate, x.values_loc, "exception 'values' must be a list"};
        for (const auto& tuple : v) {
          std::vector<ExceptionValue> row;
          if (x.fields_is_list) {
            if (!tuple.IsSequence())
              throw ItemError{
                  Code::ErrYamlValidate, loc(tuple.Mark()),
                  "with a list of fields, each value must be a list with one entry per field"};
            for (const auto& part : tuple) row.push_back(exception_value(part));
          } else {
            row.push_back(exception_value(tuple));
          }
          x.values.push_back(std::move(row));
        }
      }
      out.push_back(std::move(x));
    }
    return out;
  }

  ExceptionValue exception_value(const YAML::Node& n) {
    ExceptionValue v;
    if (n.IsSequence()) {
      v.is_list = true;
      for (const auto& e : n) v.items.push_back(scalar(e, loc(e.Mark()), "value"));
    } else {
      v.items.push_back(scalar(n, loc(n.Mark()), "value"));
      v.quoted = n.Tag() == "!";
    }
    return v;
  }

  RawMacro read_macro(const YAML::Node& item, const Location& item_loc) {
    static const std::set<std::string> kKnown{"condition", "override", "append", "source"};
    static const std::set<std::string> kOps{"condition"};
    RawMacro m;
    read_base(item, item_loc, "macro", m, kKnown, kOps, kOps, ItemType::Macro);
    if (m.keys.contains("condition"))
      m.condition = mapped(item["condition"], m.keys["condition"], "condition");
    return m;
  }

  RawList read_list(const YAML::Node& item, const Location& item_loc) {
    static const std::set<std::string> kKnown{"items", "override", "append"};
    static const std::set<std::string> kOps{"items"};
    RawList l;
    read_base(item, item_loc, "list", l, kKnown, kOps, kOps, ItemType::List);
    if (l.keys.contains("items")) {
      const YAML::Node v = item["items"];
      std::vector<Located<std::string>> items;
      if (!v.IsNull()) {
        if (!v.IsSequence())
          throw ItemError{Code::ErrYamlValidate, l.keys["items"], "'items' must be a list"};
        for (const auto& e : v) items.push_back({scalar(e, loc(e.Mark()), "items"), loc(e.Mark())});
      }
      l.items = std::move(items);
    }
    return l;
  }

  void read_engine_version(const YAML::Node& item, const Location& item_loc) {
    current_name_.clear();
    const YAML::Node v = item["required_engine_version"];
    auto s = scalar(v, loc(v.Mark()), "required_engine_version");
    auto need = parse_semver(s);
    if (!need)
      throw ItemError{
          Code::ErrYamlValidate, loc(v.Mark()),
          "required_engine_version must be an integer or a semantic version, not '" + s + "'"};
    if (*need > kEngineVersion) {
      error(Code::ErrEngineVersion, ItemType::RequiredEngineVersion, "", item_loc,
            "this file needs rules engine version " + need->str() + " but Peregrine implements " +
                kEngineVersion.str() + "; use rules written for this version");
      stop_ = true;
    }
  }

  void read_plugin_versions(const YAML::Node& item, const Location& item_loc) {
    current_name_.clear();
    const YAML::Node v = item["required_plugin_versions"];
    if (v.IsNull()) return;
    if (!v.IsSequence())
      throw ItemError{Code::ErrYamlValidate, item_loc,
                      "required_plugin_versions must be a list of {name, version}"};
    for (const auto& req : v) {
      Location rl = loc(req.Mark());
      if (!req.IsMap() || !req["name"] || !req["version"])
        throw ItemError{Code::ErrYamlValidate, rl,
                        "each required plugin needs 'name' and 'version'"};
      std::vector<std::pair<std::string, std::string>> options;
      options.emplace_back(scalar(req["name"], rl, "name"), scalar(req["version"], rl, "version"));
      if (auto alts = req["alternatives"]) {
        if (!alts.IsSequence())
          throw ItemError{Code::ErrYamlValidate, loc(alts.Mark()), "'alternatives' must be a list"};
        for (const auto& a : alts) {
          if (!a.IsMap() || !a["name"] || !a["version"])
            throw ItemError{Code::ErrYamlValidate, loc(a.Mark()),
                            "each alternative needs 'name' and 'version'"};
          options.emplace_back(scalar(a["name"], rl, "name"), scalar(a["version"], rl, "version"));
        }
      }
      std::string problem;
      bool ok = false;
      for (const auto& [name, ver] : options) {
        auto need = parse_semver(ver);
        if (!need)
          throw ItemError{Code::ErrYamlValidate, rl,
                          "plugin version '" + ver + "' is not a semantic version"};
        auto have = builtin_plugin_version(name);
        if (have && version_satisfies(*have, *need)) {
          ok = true;
          break;
        }
        if (problem.empty())
          problem = have ? "plugin '" + name + "' " + ver + " is required but Peregrine provides " +
                               have->str()
                         : "plugin '" + name +
                               "' is required but Peregrine does not provide it "
                               "(built in: container, k8saudit, json)";
      }
      if (!ok) error(Code::ErrPluginVersion, ItemType::RequiredPluginVersions, "", rl, problem);
    }
  }

  std::shared_ptr<const SourceFile> file_;
  Diagnostics& diags_;
  std::vector<RawItem> items_;
  std::string current_name_;
  bool stop_ = false;
};

}  // namespace

std::vector<RawItem> read_rules(const std::shared_ptr<const SourceFile>& file, Diagnostics& diags) {
  return Reader(file, diags).run();
}

}  // namespace pg::policy
