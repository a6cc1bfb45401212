#include "user/live_policy/kernel_hook.h"

#include <spdlog/spdlog.h>

#include <set>

#include "policy/filter_capacity.h"
#include "user/engine/extract.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user::control {

policy::Ruleset combined_ruleset(const ActivePolicy& a) {
  policy::Ruleset rs;
  for (const auto& p : a.policies)
    for (const auto& r : p.rules->ruleset.rules) {
      rs.rules.push_back(r);
      rs.rules.back().enabled = a.rule_enabled(r);
    }
  return rs;
}

std::expected<void, std::string> KernelTablesHook::prepare(const ActivePolicy& next) {
  // Programs first: events of a newly attached syscall are judged by the
  // live tables (no slot wants them yet) until the flip below.
  if (attach_needed_)
    if (auto ok = attach_needed_(*next.engine); !ok) return std::unexpected(ok.error());
  const policy::Ruleset combined = combined_ruleset(next);
  policy::FilterTables tables =
      policy::build_filter_tables(combined, engine::host_lowering_options());
  if (next.engine->reads_environment()) tables.eager |= PG_EAGER_ENV;
  // Each policy was checked alone when it loaded; together they may still
  // not fit one generation. Refuse before writing anything.
  if (auto full = policy::check_filter_capacity(combined, tables, kernel_table_capacity());
      !full.empty()) {
    std::string text = policy::render_text(full.front());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return std::unexpected(text);
  }
  auto gen = filter_.apply(tables);
  if (!gen) return std::unexpected(gen.error());
  // The engine is not published yet: only this thread sees it.
  if (filter_.enabled()) next.engine->set_kernel_filter(tables, *gen, filter_.version());

  std::map<std::string, std::vector<uint32_t>> per_policy;
  size_t i = 0;
  for (const auto& p : next.policies) {
    std::set<uint32_t> mine;
    for (size_t k = 0; k < p.rules->ruleset.rules.size(); ++k, ++i) {
      if (i >= tables.rule_slots.size()) continue;
      const pg_slots& s = tables.rule_slots[i];
      for (uint32_t w = 0; w < PG_SLOT_WORDS; ++w)
        for (uint32_t b = 0; b < 64; ++b)
          if (s.w[w] >> b & 1) mine.insert(w * 64 + b);
    }
    per_policy[p.name] = {mine.begin(), mine.end()};
  }
  size_t sharp = 0, syscall_rules = 0;
  for (size_t k = 0; k < combined.rules.size(); ++k) {
    const auto& r = combined.rules[k];
    if (!r.enabled || r.source != policy::EventSource::Syscall) continue;
    ++syscall_rules;
    if (tables.halves[k].sharper_than_type()) ++sharp;
  }
  spdlog::info(
      "kernel filter: generation {} with {} slots for {} policies; {} of {} syscall rules "
      "sharper than their event types",
      *gen, tables.slots_used(), next.policies.size(), sharp, syscall_rules);
  std::lock_guard lock(mu_);
  slots_[next.generation] = std::move(per_policy);
  return {};
}

void KernelTablesHook::activate(const ActivePolicy& next) {
  std::lock_guard lock(mu_);
  slots_.erase(slots_.begin(), slots_.lower_bound(next.generation));
}

std::optional<KernelPolicyHook::Counters> KernelTablesHook::counters(
    const ActivePolicy& active, std::string_view policy) const {
  if (!filter_.enabled()) return std::nullopt;
  std::vector<uint32_t> mine;
  {
    std::lock_guard lock(mu_);
    auto g = slots_.find(active.generation);
    if (g == slots_.end()) return std::nullopt;
    auto p = g->second.find(std::string(policy));
    if (p == g->second.end()) return std::nullopt;
    mine = p->second;
  }
  const FilterCounters c = filter_.counters();
  Counters out;
  out.slots_used = mine.size();
  // The filter judges each event once for all slots: "seen" is every event
  // it judged; "passed" counts events that survived through this policy's
  // slots (an event passed by two policies counts for both).
  for (const auto& k : c.kinds) out.seen += k.seen;
  for (uint32_t s : mine)
    if (s < c.slot_passed.size()) out.passed += c.slot_passed[s];
  return out;
}

}  // namespace pg::user::control
