#include "policy/collector.h"

#include <algorithm>
#include <set>

#include "policy/lexer.h"

namespace pg::policy {

bool is_identifier(std::string_view s) {
  if (s.empty() || !Lexer::is_ident_start(s[0])) return false;
  for (char c : s)
    if (!Lexer::is_ident_char(c)) return false;
  return true;
}

void Collector::err(Code c, ItemType t, const std::string& name, Location l, std::string msg) {
  diags_.add(Diagnostic{c, t, name, std::move(l), std::move(msg), {}, 0});
}

void Collector::add(RawItem item) {
  if (auto* r = std::get_if<RawRule>(&item))
    add_rule(std::move(*r));
  else if (auto* m = std::get_if<RawMacro>(&item))
    add_macro(std::move(*m));
  else
    add_list(std::move(std::get<RawList>(item)));
}

namespace {
// How a key of an update item applies: append, replace, or not given.
enum class Apply { None, Append, Replace };
Apply mode_of(const ItemBase& b, const std::string& key) {
  if (!b.keys.contains(key)) return Apply::None;
  if (b.has_override) {
    auto it = b.overrides.find(key);
    if (it == b.overrides.end()) return Apply::None;
    return it->second == OverrideMode::Append ? Apply::Append : Apply::Replace;
  }
  return Apply::Append;  // legacy append: true
}
}  // namespace

void Collector::add_list(RawList l) {
  if (!is_identifier(l.name))
    err(Code::InvalidListName, ItemType::List, l.name, l.loc,
        "list name '" + l.name +
            "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*), so it "
            "cannot be used in a condition");
  auto it = list_index_.find(l.name);
  bool update = l.append || l.has_override;
  if (update) {
    if (it == list_index_.end()) {
      err(Code::ErrValidate, ItemType::List, l.name, l.loc,
          "list '" + l.name +
              "' is appended to or overridden but was never defined; define it "
              "first or load the file that defines it earlier");
      return;
    }
    auto& target = lists_[it->second];
    Apply a = l.has_override ? mode_of(l, "items") : Apply::Append;
    auto items = l.items.value_or(std::vector<Located<std::string>>{});
    if (items.empty() && a == Apply::Append)
      err(Code::AppendNoValues, ItemType::List, l.name, l.loc, "append adds no items");
    if (a == Apply::Append)
      target.items.insert(target.items.end(), items.begin(), items.end());
    else if (a == Apply::Replace)
      target.items = std::move(items);
    return;
  }
  if (!l.items) {
    err(Code::ErrYamlValidate, ItemType::List, l.name, l.loc, "list has no 'items' key");
    return;
  }
  CollectedList c{l.name, l.loc, std::move(*l.items)};
  if (it != list_index_.end()) {
    lists_[it->second] = std::move(c);  // a redefinition replaces
  } else {
    list_index_[l.name] = lists_.size();
    lists_.push_back(std::move(c));
  }
}

void Collector::add_macro(RawMacro m) {
  if (!is_identifier(m.name))
    err(Code::InvalidMacroName, ItemType::Macro, m.name, m.loc,
        "macro name '" + m.name +
            "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*), so it "
            "cannot be used in a condition");
  auto it = macro_index_.find(m.name);
  if (m.append || m.has_override) {
    if (it == macro_index_.end()) {
      err(Code::ErrValidate, ItemType::Macro, m.name, m.loc,
          "macro '" + m.name + "' is appended to or overridden but was never defined");
      return;
    }
    auto& target = macros_[it->second];
    Apply a = m.has_override ? mode_of(m, "condition") : Apply::Append;
    if (!m.condition || m.condition->empty()) {
      err(Code::AppendNoValues, ItemType::Macro, m.name, m.loc, "append adds an empty condition");
      return;
    }
    if (a == Apply::Append)
      target.condition.append(*m.condition);
    else if (a == Apply::Replace)
      target.condition = std::move(*m.condition);
    return;
  }
  if (!m.condition) {
    err(Code::ErrYamlValidate, ItemType::Macro, m.name, m.loc, "macro has no 'condition' key");
    return;
  }
  CollectedMacro c{m.name, m.loc, std::move(*m.condition)};
  if (it != macro_index_.end()) {
    macros_[it->second] = std::move(c);
  } else {
    macro_index_[m.name] = macros_.size();
    macros_.push_back(std::move(c));
  }
}

void Collector::check_exception_names(const std::vector<ExceptionSpec>& ex,
                                      const std::string& rule) {
  std::set<std::string> seen;
  for (const auto& e : ex)
    if (!seen.insert(e.name).second)
      err(Code::ExceptionNameNotUnique, ItemType::Rule, rule, e.loc,
          "exception name '" + e.name + "' is used twice in this rule; give each a unique name");
}

void Collector::merge_exceptions(CollectedRule& target, std::vector<ExceptionSpec> add, bool append,
                                 const std::string& rule) {
  if (!append) {
    target.exceptions = std::move(add);
    return;
  }
  for (auto& e : add) {
    ExceptionSpec* existing = nullptr;
    for (auto& t : target.exceptions)
      if (t.name == e.name) existing = &t;
    if (!existing) {
      if (e.fields.empty())
        err(Code::ErrValidate, ItemType::Rule, rule, e.loc,
            "appended exception '" + e.name + "' is new to the rule, so it needs 'fields'");
      target.exceptions.push_back(std::move(e));
      continue;
    }
    if (!e.fields.empty() &&
        (e.fields != existing->fields || e.fields_is_list != existing->fields_is_list))
      err(Code::ErrValidate, ItemType::Rule, rule, e.loc,
          "appending to exception '" + e.name + "' may only add values, not different fields");
    if (e.fields.empty() && existing->fields_is_list) {
      // Without its own `fields`, the appended item was read in the
      // single-field form; its value tuples belong to a multi-field one.
      for (auto& row : e.values) {
        std::vector<ExceptionValue> tuple;
        for (auto& item : row.at(0).items) tuple.push_back(ExceptionValue{{item}, false, false});
        row = std::move(tuple);
      }
    }
    if (e.values.empty())
      err(Code::AppendNoValues, ItemType::Rule, rule, e.loc,
          "appending to exception '" + e.name + "' adds no values");
    for (auto& v : e.values) existing->values.push_back(std::move(v));
  }
}

void Collector::add_rule(RawRule r) {
  auto it = rule_index_.find(r.name);
  bool only_enabled = r.keys.size() == 1 && r.keys.contains("enabled") && !r.has_override;
  if (r.append || r.has_override || only_enabled) {
    if (it == rule_index_.end()) {
      err(Code::ErrValidate, ItemType::Rule, r.name, r.loc,
          "rule '" + r.name + "' is " +
              (only_enabled ? "enabled/disabled" : "appended to or overridden") +
              " but was never defined; define it first or load the file that defines it earlier");
      return;
    }
    auto& t = rules_[it->second];
    if (only_enabled) {
      t.enabled = *r.enabled;
      return;
    }
    check_exception_names(r.exceptions.value_or(std::vector<ExceptionSpec>{}), r.name);
    auto text_key = [&](const char* key, std::optional<MappedText>& v, MappedText& dst) {
      Apply a = mode_of(r, key);
      if (a == Apply::None || !v) return;
      if (a == Apply::Append) {
        if (v->empty())
          err(Code::AppendNoValues, ItemType::Rule, r.name, r.keys[key],
              std::string("append adds an empty ") + key);
        else
          dst.append(*v);
      } else {
        dst = std::move(*v);
      }
    };
    text_key("condition", r.condition, t.condition);
    text_key("output", r.output, t.output);
    if (r.desc) {
      if (mode_of(r, "desc") == Apply::Append)
        t.desc += " " + *r.desc;
      else if (mode_of(r, "desc") == Apply::Replace)
        t.desc = *r.desc;
    }
    if (r.tags) {
      if (mode_of(r, "tags") == Apply::Append) {
        for (auto& tag : *r.tags)
          if (std::find(t.tags.begin(), t.tags.end(), tag) == t.tags.end()) t.tags.push_back(tag);
      } else if (mode_of(r, "tags") == Apply::Replace) {
        t.tags = std::move(*r.tags);
      }
    }
    if (r.exceptions && mode_of(r, "exceptions") != Apply::None)
      merge_exceptions(t, std::move(*r.exceptions), mode_of(r, "exceptions") == Apply::Append,
                       r.name);
    // Keys that can only be replaced (legacy append replaces them too).
    if (r.priority) t.priority = *r.priority;
    if (r.enabled) t.enabled = *r.enabled;
    if (r.skip_if_unknown_filter) t.skip_if_unknown_filter = *r.skip_if_unknown_filter;
    if (r.warn_evttypes) t.warn_evttypes = *r.warn_evttypes;
    return;
  }
  std::string missing;
  for (const char* k : {"condition", "output", "desc", "priority"})
    if (!r.keys.contains(k)) missing += (missing.empty() ? "'" : ", '") + std::string(k) + "'";
  if (!missing.empty()) {
    err(Code::ErrYamlValidate, ItemType::Rule, r.name, r.loc,
        "rule is missing " + missing + " (a new rule needs condition, output, desc and priority)");
    return;
  }
  check_exception_names(r.exceptions.value_or(std::vector<ExceptionSpec>{}), r.name);
  CollectedRule c;
  c.name = r.name;
  c.loc = r.loc;
  c.condition = std::move(*r.condition);
  c.output = std::move(*r.output);
  c.desc = std::move(*r.desc);
  c.priority = std::move(*r.priority);
  c.source = std::move(r.source);
  c.tags = r.tags.value_or(std::vector<std::string>{});
  c.enabled = r.enabled.value_or(true);
  c.skip_if_unknown_filter = r.skip_if_unknown_filter.value_or(false);
  c.warn_evttypes = r.warn_evttypes.value_or(true);
  c.exceptions = r.exceptions.value_or(std::vector<ExceptionSpec>{});
  if (it != rule_index_.end()) {
    rules_[it->second] = std::move(c);
  } else {
    rule_index_[r.name] = rules_.size();
    rules_.push_back(std::move(c));
  }
}

}  // namespace pg::policy
