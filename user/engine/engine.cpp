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
  size_t offset = 0;
  for (uint32_t origin = 0; origin < sets.size(); ++origin) {
    const RulesetRef& set = sets[origin];
    e->origins_.emplace_back(set.rules->rules.data(), offset);
    offset += set.rules->rules.size();
    for (const auto& rule : set.rules->rules) {
      const bool enabled = set.enabled ? set.enabled(rule) : rule.enabled;
      if (!enabled || rule.source != policy::EventSource::Syscall) continue;
      auto prio = to_output_priority(rule.priority);
      // Lower numeric value is more severe; skip rules below the threshold.
      if (static_cast<int>(prio) > static_cast<int>(e->opts_.min_priority)) continue;
      auto cond = compile_predicate(rule.condition);
      if (!cond) return std::unexpected(fmt::format("rule '{}': {}", rule.name, cond.error()));
      CompiledRule cr{&rule, std::move(*cond), {}, prio, 0, origin};
      for (const auto& seg : rule.output.segments) {
        if (seg.is_field)
          cr.output.push_back({"", bind_field(seg.field)});
        else
          cr.output.push_back({seg.text, std::nullopt});
      }
      if (auto c = cr.condition->constant(); c && !*c) continue;  // can never match
      const uint32_t idx = uint32_t(e->rules_.size());
      if (rule.event_types.all) {
        e->any_type_.push_back(idx);
      } else {
        for (const auto& t : rule.event_types.names) e->by_type_[t].push_back(idx);
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
  for (const auto& [t, _] : by_type_) out.insert(t);
  return {out.begin(), out.end()};
}

output::Alert Engine::make_alert(const CompiledRule& r, const EventView& v) const {
  output::Alert a;
  a.time_ns = int64_t(v.evt.time_ns);
  a.rule = r.rule->name;
  a.priority = r.priority;
  a.source = "syscall";
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
  // Folded YAML (`output: >`) leaves a trailing newline; Falco trims it.
  while (!a.output.empty() && std::isspace(static_cast<unsigned char>(a.output.back())))
    a.output.pop_back();
  return a;
}

}  // namespace pg::user::engine
