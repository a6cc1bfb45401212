// The rule engine for syscall events: compiled rules indexed by event type,
// evaluated against each event, producing rendered alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kern/api/filter.h"
#include "policy/filter_tables.h"
#include "policy/ruleset.h"
#include "user/engine/extract.h"
#include "user/engine/predicate.h"
#include "user/output/alert.h"

namespace pg::user::engine {

struct EngineOptions {
  output::Priority min_priority = output::Priority::Debug;  // alerts below are not raised
  bool all_matches = false;                                 // rule_matching: all (else first)
};

struct CompiledRule {
  const policy::Rule* rule;
  std::unique_ptr<Predicate> condition;
  struct Segment {
    std::string text;
    std::optional<BoundField> field;
  };
  std::vector<Segment> output;
  output::Priority priority;
  // Written only by the event thread; other threads (metrics, control)
  // read it through match_count().
  uint64_t matches = 0;
  uint32_t origin = 0;  // index of the ruleset it came from (see RulesetRef)
  pg_slots slots{};     // the rule's kernel filter slots (see set_kernel_filter)
  uint64_t match_count() const {
    return std::atomic_ref<const uint64_t>(matches).load(std::memory_order_relaxed);
  }
};

// One of several rulesets compiled into one engine (the live policies).
struct RulesetRef {
  const policy::Ruleset* rules;
  // Overrides `Rule::enabled` when set (runtime `rules enable|disable`).
  std::function<bool(const policy::Rule&)> enabled;
};

class Engine {
 public:
  // Compile every enabled syscall rule of `rules` (which must outlive the
  // engine). Fails on the first rule that cannot be compiled.
  static std::expected<std::unique_ptr<Engine>, std::string> build(const policy::Ruleset& rules,
                                                                   EngineOptions opts);
  // The same over several rulesets, in order, as if their rules were one
  // list; CompiledRule::origin says which ruleset a rule came from.
  static std::expected<std::unique_ptr<Engine>, std::string> build(std::span<const RulesetRef> sets,
                                                                   EngineOptions opts);

  // Evaluate the candidate rules for this event; calls `emit` per alert.
  template <class Emit>
  void process(const EventView& v, Emit&& emit);

  // The syscall event types some rule needs; `all` if a rule is not
  // restricted by event type.
  bool needs_all_types() const { return !any_type_.empty(); }
  std::vector<std::string> needed_types() const;
  size_t rule_count() const { return rules_.size(); }
  const std::vector<CompiledRule>& rules() const { return rules_; }

  output::Alert make_alert(const CompiledRule& r, const EventView& v) const;

  // From now on, events the kernel filter judged under generation `gen`
  // (built from `t` for this engine's ruleset) are evaluated only against
  // the rules owning a surviving slot. Other events see every rule.
  void set_kernel_filter(const policy::FilterTables& t, uint32_t gen);

 private:
  Engine() = default;
  EngineOptions opts_;
  // Per ruleset given to build(): its first rule and that rule's index in
  // the rulesets' concatenation (what set_kernel_filter's tables index).
  std::vector<std::pair<const policy::Rule*, size_t>> origins_;
  uint32_t filter_gen_ = UINT32_MAX;  // none
  std::vector<CompiledRule> rules_;
  // Heterogeneous lookup: an event's type name (a string_view) finds its
  // rules without building a std::string per event.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<uint32_t>, NameHash, std::equal_to<>> by_type_;
  std::vector<uint32_t> any_type_;
};

template <class Emit>
void Engine::process(const EventView& v, Emit&& emit) {
  auto it = by_type_.find(v.evt.type_name());
  const std::vector<uint32_t>* lists[2] = {it == by_type_.end() ? nullptr : &it->second,
                                           &any_type_};
  // Rules are considered in load order across both lists, as Falco does.
  size_t i = 0, j = 0;
  const auto& a = lists[0] ? *lists[0] : any_type_;
  const bool merge = lists[0] != nullptr;
  const bool gated = v.evt.filtered && v.evt.filter_gen == filter_gen_;
  while (true) {
    uint32_t idx;
    if (merge && i < a.size() && (j >= any_type_.size() || a[i] < any_type_[j])) {
      idx = a[i++];
    } else if (j < any_type_.size()) {
      idx = any_type_[j++];
    } else {
      break;
    }
    CompiledRule& r = rules_[idx];
    if (gated && !pg_slots_meet(&r.slots, &v.evt.slots)) continue;
    if (!r.condition->eval(v)) continue;
    // One writer: a relaxed store keeps the increment a plain add while
    // match_count() may read it from another thread.
    std::atomic_ref<uint64_t>(r.matches).store(r.matches + 1, std::memory_order_relaxed);
    emit(make_alert(r, v));
    if (!opts_.all_matches) return;
  }
}

}  // namespace pg::user::engine
