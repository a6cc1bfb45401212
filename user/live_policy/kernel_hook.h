// The kernel filter's half of a policy switch: lower the new generation's
// rules (every policy, toggles applied) into complete new filter tables,
// write them and flip the kernel to them (KernelFilter::apply), then tell
// the new engine which slots its rules own under that generation.
//
// Flipping on the control thread, before the event thread adopts the new
// engine, is sound because every record carries the generation it was
// judged under: an engine only gates rules by slots for records of its own
// generation and evaluates every candidate rule for any other.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "user/live_policy/policy_manager.h"
#include "user/syscalls/kernel_filter.h"

namespace pg::user::control {

class KernelTablesHook : public KernelPolicyHook {
 public:
  explicit KernelTablesHook(KernelFilter& filter) : filter_(filter) {}

  // Called first in every prepare: make sure the programs the next
  // engine's rules need are attached (a live-loaded policy may need a
  // syscall no earlier rule did). An error aborts the switch.
  using AttachNeeded = std::function<std::expected<void, std::string>(const engine::Engine&)>;
  void set_attach_needed(AttachNeeded f) { attach_needed_ = std::move(f); }

  std::expected<void, std::string> prepare(const ActivePolicy& next) override;
  void activate(const ActivePolicy& next) override;
  std::optional<Counters> counters(const ActivePolicy& active,
                                   std::string_view policy) const override;

 private:
  KernelFilter& filter_;
  AttachNeeded attach_needed_;
  mutable std::mutex mu_;
  // Per policy generation: each policy's slot numbers.
  std::map<uint64_t, std::map<std::string, std::vector<uint32_t>>> slots_;
};

// The rules of every policy of `a`, in engine order, with the runtime
// toggles applied to `enabled` (what the filter tables are built from).
policy::Ruleset combined_ruleset(const ActivePolicy& a);

}  // namespace pg::user::control
