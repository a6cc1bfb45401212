#include "user/engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "policy/output_format.h"

namespace pg::user::engine {

namespace {

output::FieldValue to_output_value(const Value& v) {
  switch (v.kind) {
    case Value::Kind::NA:
      return std::monostate{};
    case Value::Kind::Int:
      return int64_t(v.num);
    case Value::Kind::Bool:
      return bool(v.num);
    default:
      return render_value(v);
  }
}

using Segments = std::vector<CompiledRule::Segment>;

// A format string (`on CPU %evt.cpu`) as segments bound for `source`.
std::expected<Segments, std::string> bind_format(const std::string& text,
                                                 policy::EventSource source) {
  auto parsed = policy::parse_output(text);
  if (!parsed) return std::unexpected(parsed.error().message);
  Segments out;
  const auto& segs = parsed->segments;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (!segs[i].is_field) {
      out.push_back({segs[i].text, std::nullopt});
      continue;
    }
    const size_t end = i + 1 < segs.size() ? segs[i + 1].pos : text.size();
    std::string name = text.substr(segs[i].pos + 1, end - segs[i].pos - 1);
    auto f = bind_field_name(name, source);
    if (!f) return std::unexpected("unknown field '" + name + "'");
    out.push_back({"", std::move(*f)});
  }
  return out;
}

// The plugin-suggested fields Falco appends with `suggested_output`: the
// container plugin's identity fields, for syscall rules.
constexpr std::string_view kSuggestedSyscallFields[] = {
    "container.id",        "container.name", "container.image.repository",
    "container.image.tag", "k8s.pod.name",   "k8s.ns.name"};

bool matches(const ExtraOutput& x, const policy::Rule& r) {
  if (!x.source.empty() && x.source != policy::source_name(r.source)) return false;
  if (!x.rule.empty() && x.rule != r.name) return false;
  for (const auto& t : x.tags)
    if (std::find(r.tags.begin(), r.tags.end(), t) == r.tags.end()) return false;
  return true;
}

std::expected<void, std::string> add_extras(CompiledRule& cr, const EngineOptions& o) {
  const auto& rule = *cr.rule;
  for (size_t i = 0; i < o.extra_outputs.size(); ++i) {
    const auto& x = o.extra_outputs[i];
    if (!matches(x, rule)) continue;
    auto fail = [&](const std::string& why) {
      return std::unexpected(fmt::format("append_output[{}]: {}", i, why));
    };
    std::string text = x.format;
    if (x.suggested) {
      if (rule.source == policy::EventSource::Syscall)
        for (auto f : kSuggestedSyscallFields) {
          std::string alias(f);
          std::replace(alias.begin(), alias.end(), '.', '_');
          text += fmt::format("{}{}=%{}", text.empty() ? "" : " ", alias, f);
        }
      for (const auto& [k, v] : o.static_fields) {
        text += fmt::format("{}static_{}={}", text.empty() ? "" : " ", k, v);
        cr.extra_fields.push_back({"static." + k, {{v, std::nullopt}}, std::nullopt});
      }
    }
    if (!text.empty()) {
      auto segs = bind_format(text, rule.source);
      if (!segs) return fail(segs.error());
      cr.extra_output.push_back({" ", std::nullopt});
      for (auto& s : *segs) cr.extra_output.push_back(std::move(s));
    }
    for (const auto& [key, fmt_text] : x.formatted_fields) {
      auto segs = bind_format(fmt_text, rule.source);
      if (!segs) return fail(key + ": " + segs.error());
      cr.extra_fields.push_back({key, std::move(*segs), std::nullopt});
    }
    for (const auto& name : x.raw_fields) {
      auto f = bind_field_name(name, rule.source);
      if (!f) return fail("unknown field '" + name + "'");
      cr.extra_fields.push_back({name, {}, std::move(*f)});
    }
  }
  return {};
}

}  // namespace

std::expected<std::unique_ptr<Engine>, std::string> Engine::build(const policy::Ruleset& rules,
                                                                  EngineOptions opts) {
  const RulesetRef one{&rules, {}};
  return build(std::span<const RulesetRef>(&one, 1), std::move(opts));
}

std::expected<std::unique_ptr<Engine>, std::string> Engine::build(std::span<const RulesetRef> sets,
                                                                  EngineOptions opts) {
  std::unique_ptr<Engine> e(new Engine());
  e->opts_ = std::move(opts);
  for (const auto& name : e->opts_.container_fields) {
    auto f = bind_field_name(name);
    if (!f) return std::unexpected(fmt::format("container.alert_fields: unknown field '{}'", name));
    e->container_fields_.push_back(std::move(*f));
  }
  if (!e->container_fields_.empty()) e->container_id_ = bind_field_name("container.id");
  size_t offset = 0;
  for (uint32_t origin = 0; origin < sets.size(); ++origin) {
    const RulesetRef& set = sets[origin];
    e->origins_.emplace_back(set.rules->rules.data(), offset);
    offset += set.rules->rules.size();
    for (const auto& rule : set.rules->rules) {
      const bool enabled = set.enabled ? set.enabled(rule) : rule.enabled;
      if (!enabled) continue;
      const auto prio = rule.priority;
      // Lower numeric value is more severe; skip rules below the threshold.
      if (static_cast<int>(prio) > static_cast<int>(e->opts_.min_priority)) continue;
      auto cond = compile_predicate(rule.condition, rule.source);
      if (!cond) return std::unexpected(fmt::format("rule '{}': {}", rule.name, cond.error()));
      CompiledRule cr{};
      cr.rule = &rule;
      cr.condition = std::move(*cond);
      cr.priority = prio;
      cr.origin = origin;
      for (const auto& seg : rule.output.segments) {
        if (seg.is_field)
          cr.output.push_back({"", bind_field(seg.field, rule.source)});
        else
          cr.output.push_back({seg.text, std::nullopt});
      }
      if (auto ok = add_extras(cr, e->opts_); !ok) return std::unexpected(ok.error());
      if (auto c = cr.condition->constant(); c && !*c) continue;  // can never match
      const uint32_t idx = uint32_t(e->rules_.size());
      SourceRules& rs = e->per_source_[index(rule.source)];
      if (rule.event_types.all || rule.source != policy::EventSource::Syscall) {
        rs.any_type.push_back(idx);
      } else {
        for (const auto& t : rule.event_types.names) rs.by_type[t].push_back(idx);
        ++rs.typed;
      }
      e->rules_.push_back(std::move(cr));
    }
  }
  return e;
}

void Engine::set_kernel_filter(const policy::FilterTables& t, uint32_t gen, uint32_t version) {
  for (auto& r : rules_) {
    const auto& [first, offset] = origins_[r.origin];
    auto idx = offset + size_t(r.rule - first);
    r.slots = idx < t.rule_slots.size() ? t.rule_slots[idx] : pg_slots{};
  }
  filter_gen_ = gen;
  filter_version_ = version;
  image_tests_.clear();
  for (const auto& i : t.images) {
    // Each condition compiled with its rule; one that does not compile
    // alone (never, today) narrows nothing.
    auto c = compile_predicate(i.condition);
    if (c) image_tests_.push_back({std::move(*c), i.slots});
  }
}

std::optional<pg_image_slots> Engine::image_verdict(const EventView& v) const {
  if (image_tests_.empty()) return std::nullopt;
  pg_image_slots out{};
  out.version = filter_version_ + 1;
  std::memcpy(out.comm, v.evt.task.comm.data(),
              std::min(v.evt.task.comm.size(), sizeof(out.comm) - 1));
  std::memset(&out.slots, 0xff, sizeof(out.slots));
  for (const auto& t : image_tests_)
    if (!t.condition->eval(v))
      for (int w = 0; w < PG_SLOT_WORDS; ++w) out.slots.w[w] &= ~t.slots.w[w];
  return out;
}

bool Engine::reads_environment() const {
  auto names = [](std::string_view text) {
    return text.find("proc.env") != std::string_view::npos ||
           text.find("proc.aenv") != std::string_view::npos;
  };
  for (const auto& r : rules_)
    if (r.rule->source == policy::EventSource::Syscall &&
        (names(policy::to_string(r.rule->condition)) || names(r.rule->output.text)))
      return true;
  for (const auto& x : opts_.extra_outputs) {
    if (names(x.format) || std::any_of(x.raw_fields.begin(), x.raw_fields.end(), names))
      return true;
    for (const auto& [_, f] : x.formatted_fields)
      if (names(f)) return true;
  }
  return std::any_of(opts_.container_fields.begin(), opts_.container_fields.end(), names);
}

std::vector<std::string> Engine::needed_types() const {
  std::set<std::string> out;
  for (const auto& [t, _] : syscall().by_type) out.insert(t);
  return {out.begin(), out.end()};
}

output::Alert Engine::make_alert(const CompiledRule& r, const View& v) const {
  output::Alert a;
  a.time_ns = v.time_ns;
  a.rule = r.rule->name;
  a.priority = r.priority;
  a.source = std::string(policy::source_name(r.rule->source));
  a.hostname = std::string(v.hostname);
  a.tags = r.rule->tags;
  std::string scratch;
  auto render = [&](const std::vector<CompiledRule::Segment>& segs, std::string& text) {
    for (const auto& seg : segs) {
      if (!seg.field) {
        text += seg.text;
        continue;
      }
      Value val = extract(*seg.field, v, scratch);
      text += render_value(val);
      auto same = [&](const output::OutputField& f) { return f.name == seg.field->name; };
      if (std::none_of(a.output_fields.begin(), a.output_fields.end(), same))
        a.output_fields.push_back({seg.field->name, to_output_value(val)});
    }
  };
  render(r.output, a.output);
  if (!r.extra_output.empty()) {
    // Folded YAML (`output: >`) leaves a trailing newline; Falco trims it.
    while (!a.output.empty() && std::isspace(static_cast<unsigned char>(a.output.back())))
      a.output.pop_back();
    render(r.extra_output, a.output);
  }
  for (const auto& x : r.extra_fields) {
    auto it = std::find_if(a.output_fields.begin(), a.output_fields.end(),
                           [&](const output::OutputField& f) { return f.name == x.key; });
    output::FieldValue value;
    if (x.raw) {
      value = to_output_value(extract(*x.raw, v, scratch));
    } else {
      std::string text;
      for (const auto& seg : x.format)
        text += seg.field ? render_value(extract(*seg.field, v, scratch)) : seg.text;
      value = std::move(text);
    }
    if (it != a.output_fields.end())
      it->value = std::move(value);
    else
      a.output_fields.push_back({x.key, std::move(value)});
  }
  if (container_id_ && v.source == policy::EventSource::Syscall) {
    Value id = extract(*container_id_, v, scratch);
    if (id.kind == Value::Kind::Str && id.str != "host") {
      for (const auto& f : container_fields_) {
        auto same = [&](const output::OutputField& o) { return o.name == f.name; };
        if (std::none_of(a.output_fields.begin(), a.output_fields.end(), same))
          a.output_fields.push_back({f.name, to_output_value(extract(f, v, scratch))});
      }
    }
  }
  // Folded YAML (`output: >`) leaves a trailing newline; Falco trims it.
  while (!a.output.empty() && std::isspace(static_cast<unsigned char>(a.output.back())))
    a.output.pop_back();
  return a;
}

}  // namespace pg::user::engine
