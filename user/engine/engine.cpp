#include "user/engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace pg::user::engine {

namespace {

output::Priority to_output_priority(policy::Priority p) {
  // Both enums list Falco's eight levels, most severe first.
  return static_cast<output::Priority>(static_cast<int>(p));
}

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
      auto prio = to_output_priority(rule.priority);
      // Lower numeric value is more severe; skip rules below the threshold.
      if (static_cast<int>(prio) > static_cast<int>(e->opts_.min_priority)) continue;
      auto cond = compile_predicate(rule.condition, rule.source);
      if (!cond) return std::unexpected(fmt::format("rule '{}': {}", rule.name, cond.error()));
      CompiledRule cr{&rule, std::move(*cond), {}, prio, 0, origin};
      for (const auto& seg : rule.output.segments) {
        if (seg.is_field)
          cr.output.push_back({"", bind_field(seg.field, rule.source)});
        else
          cr.output.push_back({seg.text, std::nullopt});
      }
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

void Engine::set_kernel_filter(const policy::FilterTables& t, uint32_t gen) {
  for (auto& r : rules_) {
    const auto& [first, offset] = origins_[r.origin];
    auto idx = offset + size_t(r.rule - first);
    r.slots = idx < t.rule_slots.size() ? t.rule_slots[idx] : pg_slots{};
  }
  filter_gen_ = gen;
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
  for (const auto& seg : r.output) {
    if (!seg.field) {
      a.output += seg.text;
      continue;
    }
    Value val = extract(*seg.field, v, scratch);
    a.output += render_value(val);
    auto same = [&](const output::OutputField& f) { return f.name == seg.field->name; };
    if (std::none_of(a.output_fields.begin(), a.output_fields.end(), same))
      a.output_fields.push_back({seg.field->name, to_output_value(val)});
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
