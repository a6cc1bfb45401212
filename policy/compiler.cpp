#include "policy/compiler.h"

#include <set>
#include <unordered_map>

#include "policy/exceptions.h"
#include "policy/parser.h"
#include "policy/typecheck.h"

namespace pg::policy {
namespace {

// List items are spliced into conditions as values, so an item written
// with quotes inside the YAML string ('"10.0.0.0/8"') is a quoted value.
std::string unquote(const std::string& item) {
  if (item.size() < 2 || (item.front() != '"' && item.front() != '\'') ||
      item.back() != item.front())
    return item;
  Lexer lex(item);
  bool quoted = false;
  try {
    std::string v = lex.scan_value(quoted);
    if (lex.at_end()) return v;
  } catch (const ParseError&) {
  }
  return item;
}

class Compiler {
 public:
  Compiler(Collector& c, Diagnostics& d, Ruleset& out, const LoadOptions& o)
      : col_(c), diags_(d), out_(out), opts_(o) {}

  void run() {
    for (std::size_t i = 0; i < col_.lists().size(); ++i) list_index_[col_.lists()[i].name] = i;
    list_state_.assign(col_.lists().size(), State::Todo);
    list_items_.resize(col_.lists().size());
    parse_macros();
    for (auto& r : col_.rules()) compile_rule(r);
    // Lists only referenced from unused macros still count as unused.
    for (std::size_t i = 0; i < col_.lists().size(); ++i) {
      expand_list(i);
      const auto& l = col_.lists()[i];
      out_.lists.push_back(ListInfo{l.name, l.loc, list_items_[i], list_used_.contains(i)});
      if (!list_used_.contains(i))
        diags_.add(Diagnostic{Code::UnusedList,
                              ItemType::List,
                              l.name,
                              l.loc,
                              "list '" + l.name + "' is not used by any rule; remove it or use it",
                              {},
                              0});
    }
    for (std::size_t i = 0; i < macros_.size(); ++i) {
      const auto& m = col_.macros()[i];
      out_.macros.push_back(MacroInfo{m.name, m.loc, m.condition.text(), macros_[i].used});
      if (!macros_[i].used)
        diags_.add(Diagnostic{Code::UnusedMacro,
                              ItemType::Macro,
                              m.name,
                              m.loc,
                              "macro '" + m.name + "' is not used by any rule; remove it or use it",
                              {},
                              0});
    }
  }

 private:
  enum class State { Todo, InProgress, Done, Failed };

  struct MacroSlot {
    const ConditionSource* source = nullptr;
    std::optional<Node> parsed;
    std::optional<Node> expanded;
    State state = State::Todo;
    bool used = false;
  };

  const ConditionSource* add_source(ItemType t, const std::string& name, const MappedText& text) {
    auto s = std::make_unique<ConditionSource>();
    s->item_type = t;
    s->item_name = name;
    s->text = text;
    out_.sources.push_back(std::move(s));
    return out_.sources.back().get();
  }

  void parse_error(const ConditionSource* src, const ParseError& e) {
    diags_.add_at(Code::ErrCompileCondition, src->item_type, src->item_name, src->text, e.pos,
                  e.message);
  }

  void parse_macros() {
    macros_.resize(col_.macros().size());
    for (std::size_t i = 0; i < col_.macros().size(); ++i) {
      const auto& m = col_.macros()[i];
      macro_index_[m.name] = i;
      macros_[i].source = add_source(ItemType::Macro, m.name, m.condition);
      auto n = parse_condition(m.condition.text(), macros_[i].source);
      if (n) {
        macros_[i].parsed = std::move(*n);
      } else {
        parse_error(macros_[i].source, n.error());
        macros_[i].state = State::Failed;
      }
    }
  }

  // Expanded items of list i (nested list names replaced, loops reported).
  bool expand_list(std::size_t i) {
    if (list_state_[i] == State::Done) return true;
    if (list_state_[i] == State::Failed) return false;
    const auto& l = col_.lists()[i];
    if (list_state_[i] == State::InProgress) {
      diags_.add(
          Diagnostic{Code::ErrCompileCondition,
                     ItemType::List,
                     l.name,
                     l.loc,
                     "list '" + l.name + "' includes itself (directly or through other lists)",
                     {},
                     0});
      return false;
    }
    list_state_[i] = State::InProgress;
    std::vector<std::string> items;
    bool ok = true;
    for (const auto& item : l.items) {
      auto it = list_index_.find(item.value);
      if (it == list_index_.end()) {
        items.push_back(unquote(item.value));
        continue;
      }
      list_used_.insert(it->second);
      if (!expand_list(it->second)) {
        ok = false;
        continue;
      }
      const auto& sub = list_items_[it->second];
      items.insert(items.end(), sub.begin(), sub.end());
    }
    list_items_[i] = std::move(items);
    list_state_[i] = ok ? State::Done : State::Failed;
    return ok;
  }

  const std::vector<std::string>* lookup_list(const std::string& name) {
    auto it = list_index_.find(name);
    if (it == list_index_.end()) return nullptr;
    list_used_.insert(it->second);
    expand_list(it->second);
    return &list_items_[it->second];
  }

  void report(const Node& n, std::string msg) {
    diags_.add_at(Code::ErrCompileCondition, n.origin->item_type, n.origin->item_name,
                  n.origin->text, n.pos, std::move(msg));
  }

  // Expands macros and lists in place; false on error (already reported).
  bool expand(Node& n) {
    switch (n.kind) {
      case NodeKind::And:
      case NodeKind::Or: {
        bool ok = true;
        for (auto& c : n.children) ok = expand(c) && ok;
        if (!ok) return false;
        // Re-flatten: a macro that expanded to an `and` joins its parent.
        n = n.kind == NodeKind::And ? make_and(std::move(n.children))
                                    : make_or(std::move(n.children));
        return true;
      }
      case NodeKind::Not:
        return expand(n.children.at(0));
      case NodeKind::Macro:
        return expand_macro(n);
      case NodeKind::Compare:
        if (n.rhs == RhsKind::List) {
          std::vector<Value> values;
          for (auto& v : n.values) {
            const std::vector<std::string>* l = v.quoted ? nullptr : lookup_list(v.text);
            if (!l) {
              values.push_back(std::move(v));
              continue;
            }
            for (const auto& item : *l) values.push_back(Value{item, true, v.pos});
          }
          n.values = std::move(values);
        }
        return true;
      default:
        return true;
    }
  }

  bool expand_macro(Node& n) {
    auto it = macro_index_.find(n.macro);
    if (it == macro_index_.end()) {
      std::string msg = "undefined macro '" + n.macro + "'";
      if (list_index_.contains(n.macro))
        msg += " ('" + n.macro + "' is a list; use it as 'field in (" + n.macro + ")')";
      else
        msg += " (define it with '- macro: " + n.macro + "', or check the spelling)";
      report(n, msg);
      return false;
    }
    auto& m = macros_[it->second];
    m.used = true;
    switch (m.state) {
      case State::Failed:
        return false;
      case State::InProgress:
        report(n, "macro '" + n.macro + "' refers to itself (directly or through other macros)");
        m.state = State::Failed;
        return false;
      case State::Done:
        n = *m.expanded;
        return true;
      case State::Todo:
        break;
    }
    m.state = State::InProgress;
    Node body = *m.parsed;
    if (!expand(body)) {
      if (m.state == State::InProgress) m.state = State::Failed;
      return false;
    }
    m.expanded = body;
    m.state = State::Done;
    n = std::move(body);
    return true;
  }

  void compile_rule(CollectedRule& r) {
    auto prio = priority_from_name(r.priority.value);
    if (!prio) {
      diags_.add(Diagnostic{Code::ErrValidate,
                            ItemType::Rule,
                            r.name,
                            r.priority.loc,
                            "invalid priority '" + r.priority.value +
                                "' (use emergency, alert, critical, error, warning, notice, "
                                "informational/info or debug)",
                            {},
                            0});
      return;
    }
    EventSource source = EventSource::Syscall;
    if (r.source) {
      auto s = source_from_name(r.source->value);
      if (!s) {
        diags_.add(Diagnostic{Code::UnknownSource,
                              ItemType::Rule,
                              r.name,
                              r.source->loc,
                              "unknown source '" + r.source->value +
                                  "' (Peregrine knows syscall and k8s_audit); the rule is skipped",
                              {},
                              0});
        return;
      }
      source = *s;
    }
    const ConditionSource* src = add_source(ItemType::Rule, r.name, r.condition);
    auto parsed = parse_condition(r.condition.text(), src);
    if (!parsed) {
      parse_error(src, parsed.error());
      return;
    }
    Node cond = std::move(*parsed);
    if (!expand(cond)) return;

    MappedText ex_text(std::string(), nullptr, r.exceptions.empty() ? r.loc : r.exceptions[0].loc);
    const ConditionSource* ex_src = add_source(ItemType::Rule, r.name, ex_text);
    bool ex_ok = true;
    auto ex = build_exceptions(
        r.exceptions, r.name, ex_src, [this](const std::string& name) { return lookup_list(name); },
        diags_, ex_ok);
    if (!ex_ok) return;
    if (ex) cond = make_and({std::move(cond), make_not(std::move(*ex))});

    CheckOptions opts{source, r.skip_if_unknown_filter, r.name};
    if (check_condition(cond, opts, diags_) != CheckStatus::Ok) return;

    auto out = parse_output(r.output.text());
    if (!out) {
      diags_.add_at(Code::ErrCompileOutput, ItemType::Rule, r.name, r.output, out.error().pos,
                    out.error().message);
      return;
    }
    expand_container_info(*out, source, r);
    if (check_output(*out, r.output, opts, diags_) != CheckStatus::Ok) return;
    report_field_gaps(cond, *out, source, r);

    Rule rule;
    rule.name = r.name;
    rule.desc = r.desc;
    rule.loc = r.loc;
    rule.priority = *prio;
    rule.source = source;
    rule.tags = r.tags;
    rule.enabled = r.enabled;
    rule.warn_evttypes = r.warn_evttypes;
    rule.skip_if_unknown_filter = r.skip_if_unknown_filter;
    rule.condition_text = r.condition.text();
    rule.condition = std::move(cond);
    rule.output = std::move(*out);
    rule.exceptions = r.exceptions;
    if (source == EventSource::Syscall) {
      rule.event_types = compute_event_types(rule.condition);
      if (rule.event_types.all && rule.warn_evttypes)
        diags_.add(Diagnostic{Code::NoEvttype,
                              ItemType::Rule,
                              r.name,
                              r.condition.start(),
                              "the condition does not restrict evt.type, so the rule runs on every "
                              "event; add e.g. 'evt.type in (open, openat)' or set "
                              "'warn_evttypes: false'",
                              {},
                              0});
    }
    if (source == EventSource::Syscall) report_uncaptured(rule);
    out_.rules.push_back(std::move(rule));
  }

  // `%container.info` (Falco rules before 2024): Falco expanded it to the
  // container's id and name, and now warns that it is deprecated. Peregrine
  // expands it to `container_id=%container.id container_name=%container.name`
  // (nothing for Kubernetes audit rules, which have no container) and warns.
  void expand_container_info(OutputFormat& out, EventSource source, const CollectedRule& r) {
    std::vector<OutputSegment> segs;
    for (auto& seg : out.segments) {
      if (!seg.is_field || seg.field.name != "container.info" || seg.field.arg ||
          !seg.field.transformers.empty()) {
        segs.push_back(std::move(seg));
        continue;
      }
      diags_.add_at(
          Code::DeprecatedItem, ItemType::Rule, r.name, r.output, seg.pos,
          "%container.info is deprecated (Falco dropped it); it is expanded to " +
              std::string(source == EventSource::Syscall ? "'container_id=%container.id "
                                                           "container_name=%container.name'"
                                                         : "nothing for a k8s_audit rule") +
              ". Write the container fields you want instead");
      if (source != EventSource::Syscall) continue;
      auto literal = [&](std::string text) {
        OutputSegment l;
        l.text = std::move(text);
        l.pos = seg.pos;
        segs.push_back(std::move(l));
      };
      auto field = [&](const char* name) {
        OutputSegment f;
        f.is_field = true;
        f.field.name = name;
        f.field.pos = seg.pos;
        f.pos = seg.pos;
        segs.push_back(std::move(f));
      };
      literal("container_id=");
      field("container.id");
      literal(" container_name=");
      field("container.name");
    }
    out.segments = std::move(segs);
  }

  // Falco deprecates these (0.42, 0.43): Falco no longer sees syscall
  // entries, so `evt.dir = <` always holds and latencies are unknown.
  static bool deprecated_field(std::string_view name) {
    return name == "evt.dir" || name == "evt.latency" || name == "evt.latency.s" ||
           name == "evt.latency.ns" || name == "evt.latency.human" || name == "evt.wait_latency";
  }

  void field_gap(const FieldRef& f, EventSource source, ItemType type, const std::string& item,
                 const MappedText& text, std::size_t pos) {
    for (const auto& a : f.args) field_gap(a, source, type, item, text, pos);
    if (f.field_id < 0) return;
    const auto& reg = FieldRegistry::instance();
    if (deprecated_field(f.name))
      diags_.add_at(Code::DeprecatedItem, type, item, text, pos,
                    "field '" + f.name + "' is deprecated: " +
                        (f.name == "evt.dir"
                             ? "only syscall exits are seen, so 'evt.dir = <' always holds and "
                               "'evt.dir = >' never does; drop the comparison"
                             : "syscall entries are not captured, so it is always <NA>"));
    if (!reg.extracted(f.field_id, source))
      diags_.add_at(Code::FieldUnavailable, type, item, text, pos,
                    "field '" + f.name + "' has no extractor in this build, so it is always <NA>" +
                        " (`peregrine fields` marks such fields)");
  }

  void condition_gaps(const Node& n, EventSource source, const CollectedRule& r) {
    for (const auto& c : n.children) condition_gaps(c, source, r);
    if (n.kind != NodeKind::Compare && n.kind != NodeKind::Exists) return;
    auto at = [&](const FieldRef& f) {
      if (n.origin)
        field_gap(f, source, n.origin->item_type, n.origin->item_name, n.origin->text, f.pos);
      else
        field_gap(f, source, ItemType::Rule, r.name, r.condition, 0);
    };
    at(n.field);
    if (n.rhs == RhsKind::Field) at(n.rhs_field);
  }

  void report_field_gaps(const Node& cond, const OutputFormat& out, EventSource source,
                         const CollectedRule& r) {
    condition_gaps(cond, source, r);
    for (const auto& seg : out.segments)
      if (seg.is_field) field_gap(seg.field, source, ItemType::Rule, r.name, r.output, seg.pos);
  }

  // Where a condition names event type `name` (for the diagnostic's place).
  static const Node* find_evttype(const Node& n, const std::string& name, std::size_t& pos) {
    for (const auto& c : n.children)
      if (const Node* f = find_evttype(c, name, pos)) return f;
    if (n.kind != NodeKind::Compare || n.rhs == RhsKind::Field) return nullptr;
    if (n.field.name != "evt.type" && n.field.name != "syscall.type") return nullptr;
    for (const auto& v : n.values)
      if (v.text == name) {
        pos = v.pos;
        return &n;
      }
    return nullptr;
  }

  void report_uncaptured(const Rule& rule) {
    if (!opts_.evttype_captured || rule.event_types.all) return;
    for (const auto& t : rule.event_types.names) {
      if (!is_known_event_type(t) || opts_.evttype_captured(t)) continue;
      std::string msg = "event type '" + t +
                        "' is not captured by this build, so the rule never sees such events" +
                        " (`peregrine trace --help` lists the captured ones)";
      std::size_t pos = 0;
      const Node* n = find_evttype(rule.condition, t, pos);
      if (n && n->origin && n->origin->item_name != rule.name)
        msg = "rule '" + rule.name + "': " + msg;
      if (n && n->origin)
        diags_.add_at(Code::EvttypeNotCaptured, n->origin->item_type, n->origin->item_name,
                      n->origin->text, pos, std::move(msg));
      else
        diags_.add(Diagnostic{
            Code::EvttypeNotCaptured, ItemType::Rule, rule.name, rule.loc, std::move(msg), {}, 0});
    }
  }

  Collector& col_;
  Diagnostics& diags_;
  Ruleset& out_;
  const LoadOptions& opts_;
  std::vector<MacroSlot> macros_;
  std::unordered_map<std::string, std::size_t> macro_index_, list_index_;
  std::vector<State> list_state_;
  std::vector<std::vector<std::string>> list_items_;
  std::set<std::size_t> list_used_;
};

}  // namespace

void compile_rules(Collector& collected, Diagnostics& diags, Ruleset& out,
                   const LoadOptions& opts) {
  Compiler(collected, diags, out, opts).run();
}

}  // namespace pg::policy
