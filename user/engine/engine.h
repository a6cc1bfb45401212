// The rule engine: compiled rules, kept per event source and indexed by
// event type, evaluated against each event, producing rendered alerts.
#pragma once

#include <array>
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

// Falco's append_output: text and fields added to the alerts of the rules
// an entry matches (source, rule name, all of the tags; empty matches any).
struct ExtraOutput {
  std::string source;
  std::string rule;
  std::vector<std::string> tags;
  std::string format;  // appended to the output after a space; may hold %fields
  std::vector<std::pair<std::string, std::string>> formatted_fields;  // output_fields key → format
  std::vector<std::string> raw_fields;  // field names, typed values in output_fields
  // The fields Falco's plugins suggest (container and pod identity for
  // syscall rules) and static_fields, as " name_with_underscores=value".
  bool suggested = false;
};

struct EngineOptions {
  output::Priority min_priority = output::Priority::Debug;  // alerts below are not raised
  bool all_matches = false;                                 // rule_matching: all (else first)
  // Fields every alert for an event in a container carries in output_fields
  // (Falco adds container and pod identity even when the rule's output does
  // not name them). Unknown names fail the build.
  std::vector<std::string> container_fields;
  std::vector<ExtraOutput> extra_outputs;
  std::vector<std::pair<std::string, std::string>> static_fields;  // name → value
};

struct CompiledRule {
  const policy::Rule* rule;
  std::unique_ptr<Predicate> condition;
  struct Segment {
    std::string text;
    std::optional<BoundField> field;
  };
  std::vector<Segment> output;
  std::vector<Segment> extra_output;  // append_output, after the rule's own output
  struct ExtraField {
    std::string key;
    std::vector<Segment> format;    // a formatted field: rendered as text
    std::optional<BoundField> raw;  // a raw field: its typed value
  };
  std::vector<ExtraField> extra_fields;
  output::Priority priority;
  // Written only by the event thread; other threads (metrics, control)
  // read it through match_count().
  uint64_t matches = 0;
  // Events the kernel filter let through for this rule (a slot of its
  // passed) that its full condition then judged: with `matches`, how much
  // of what crosses to userspace this rule is responsible for.
  uint64_t kernel_passed = 0;
  uint32_t origin = 0;  // index of the ruleset it came from (see RulesetRef)
  pg_slots slots{};     // the rule's kernel filter slots (see set_kernel_filter)
  uint64_t match_count() const {
    return std::atomic_ref<const uint64_t>(matches).load(std::memory_order_relaxed);
  }
  uint64_t kernel_passed_count() const {
    return std::atomic_ref<const uint64_t>(kernel_passed).load(std::memory_order_relaxed);
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
  // Compile every enabled rule of `rules` (which must outlive the engine),
  // each for its own event source. Fails on the first rule that cannot be
  // compiled.
  static std::expected<std::unique_ptr<Engine>, std::string> build(const policy::Ruleset& rules,
                                                                   EngineOptions opts);
  // The same over several rulesets, in order, as if their rules were one
  // list; CompiledRule::origin says which ruleset a rule came from.
  static std::expected<std::unique_ptr<Engine>, std::string> build(std::span<const RulesetRef> sets,
                                                                   EngineOptions opts);

  // Evaluate the candidate rules of the view's source for this event; calls
  // `emit` per alert. Events of different sources may be processed on
  // different threads at once (each source's rules are touched by its
  // events only); events of one source must not be.
  template <class Emit>
  void process(const EventView& v, Emit&& emit) {
    // Under the kernel filter, only rules owning a surviving slot can match.
    const bool gated = v.evt.filtered && v.evt.filter_gen == filter_gen_;
    process_in(per_source_[index(v.source)], v, v.evt.type_name(), gated ? &v.evt.slots : nullptr,
               emit);
  }
  template <class Emit>
  void process(const AuditView& v, Emit&& emit) {
    process_in(per_source_[index(v.source)], v, {}, nullptr, emit);
  }

  // The syscall event types some rule needs; `all` if a syscall rule is not
  // restricted by event type.
  bool needs_all_types() const { return !syscall().any_type.empty(); }
  std::vector<std::string> needed_types() const;
  // Whether a syscall rule's condition or output, or an appended output,
  // names a process's environment (proc.env, proc.aenv): exec records must
  // then carry it (PG_EAGER_ENV). By the texts, so a value that merely
  // spells the name also counts (it only costs the copy).
  bool reads_environment() const;
  size_t rule_count() const { return rules_.size(); }
  // Rules of one source (syscall rules need hooks; audit rules a webhook).
  size_t rule_count(policy::EventSource s) const {
    const auto& rs = per_source_[index(s)];
    return rs.any_type.size() + rs.typed;
  }
  const std::vector<CompiledRule>& rules() const { return rules_; }

  output::Alert make_alert(const CompiledRule& r, const View& v) const;

  // From now on, events the kernel filter judged under generation `gen`
  // (built from `t` for this engine's ruleset) are evaluated only against
  // the rules owning a surviving slot. Other events see every rule.
  // `version`: the tables' pg_filter_ctl.version, which image verdicts carry.
  void set_kernel_filter(const policy::FilterTables& t, uint32_t gen, uint32_t version = 0);

  // What the process image of `v` leaves of the slots whose clauses judge
  // an image (PG_FF_IMAGE), for the kernel's pg_fimage: `v` is the image's
  // exec, or any event of a process running it. nullopt when no rule
  // judges an image.
  std::optional<pg_image_slots> image_verdict(const EventView& v) const;

 private:
  Engine() = default;
  // Heterogeneous lookup: an event's type name (a string_view) finds its
  // rules without building a std::string per event.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The rules of one event source, as indexes into rules_ in load order.
  struct SourceRules {
    std::unordered_map<std::string, std::vector<uint32_t>, NameHash, std::equal_to<>> by_type;
    std::vector<uint32_t> any_type;
    size_t typed = 0;  // rules reached through by_type
  };
  static constexpr size_t kSources = 2;  // policy::EventSource's values are 0..kSources-1
  static_assert(static_cast<size_t>(policy::EventSource::K8sAudit) + 1 == kSources);
  static size_t index(policy::EventSource s) { return static_cast<size_t>(s); }
  const SourceRules& syscall() const { return per_source_[index(policy::EventSource::Syscall)]; }

  template <class Emit>
  void process_in(SourceRules& rs, const View& v, std::string_view type, const pg_slots* gate,
                  Emit& emit);

  EngineOptions opts_;
  // Per ruleset given to build(): its first rule and that rule's index in
  // the rulesets' concatenation (what set_kernel_filter's tables index).
  std::vector<std::pair<const policy::Rule*, size_t>> origins_;
  uint32_t filter_gen_ = UINT32_MAX;  // none
  uint32_t filter_version_ = 0;
  struct ImageTest {
    std::unique_ptr<Predicate> condition;
    pg_slots slots;
  };
  std::vector<ImageTest> image_tests_;
  std::vector<CompiledRule> rules_;
  std::array<SourceRules, kSources> per_source_;
  std::vector<BoundField> container_fields_;
  std::optional<BoundField> container_id_;
};

template <class Emit>
void Engine::process_in(SourceRules& rs, const View& v, std::string_view type, const pg_slots* gate,
                        Emit& emit) {
  const std::vector<uint32_t>* typed = nullptr;
  if (!type.empty())
    if (auto it = rs.by_type.find(type); it != rs.by_type.end()) typed = &it->second;
  // Rules are considered in load order across both lists, as Falco does.
  static const std::vector<uint32_t> kNone;
  const auto& a = typed ? *typed : kNone;
  const auto& any = rs.any_type;
  size_t i = 0, j = 0;
  while (i < a.size() || j < any.size()) {
    uint32_t idx = (i < a.size() && (j >= any.size() || a[i] < any[j])) ? a[i++] : any[j++];
    CompiledRule& r = rules_[idx];
    // One writer: relaxed stores keep the increments plain adds while
    // other threads read the counters.
    if (gate) {
      if (!pg_slots_meet(&r.slots, gate)) continue;
      std::atomic_ref<uint64_t>(r.kernel_passed)
          .store(r.kernel_passed + 1, std::memory_order_relaxed);
    }
    if (!r.condition->eval(v)) continue;
    std::atomic_ref<uint64_t>(r.matches).store(r.matches + 1, std::memory_order_relaxed);
    emit(make_alert(r, v));
    if (!opts_.all_matches) return;
  }
}

}  // namespace pg::user::engine
