// The live policy: named sets of rules files ("policies"), runtime rule
// toggles, and the one function that switches the detector from one
// complete engine to the next.
//
//   control thread: load/unload/reload/toggle ─► build a complete new
//                   ActivePolicy (load + validate every file, compile one
//                   engine from the union) ─► KernelPolicyHook::prepare ─►
//                   publish as "pending" (nothing changed if any step failed)
//   event thread:   adopt_pending() between two events: takes the pending
//                   generation, carries the per-rule match counters over,
//                   calls KernelPolicyHook::activate, and evaluates every
//                   later event with it.
//
// Every event is evaluated by exactly one generation, so a change leaves no
// window of events unevaluated; a failed change leaves the running
// generation untouched.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/ruleset.h"
#include "user/engine/engine.h"

namespace pg::user::control {

// The name `peregrine run -r ...` (or rules_files) gives its rules.
inline constexpr const char* kDefaultPolicy = "default";

// Error codes shared with the control protocol (see docs/cli.md).
enum class ErrorCode {
  BadRequest,          // malformed or invalid request
  UnsupportedVersion,  // protocol version this daemon does not speak
  UnknownCommand,
  InvalidArgument,  // a well-formed request with a bad value (name, path)
  NotFound,         // no such policy / rule / tag
  RulesInvalid,     // a rules file failed to load; diagnostics attached
  SwitchFailed,     // the engine or the kernel tables could not be switched
  PermissionDenied,
  Internal,
  Busy,  // too many control clients at once; retry
};
std::string_view error_code_name(ErrorCode c);  // "rules-invalid", ... (protocol.cpp)

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::vector<policy::Diagnostic> diagnostics;  // errors first; for RulesInvalid
};

struct Policy {
  std::string name;
  std::vector<std::string> paths;  // as given (files or directories)
  std::vector<std::string> files;  // expanded, in load order
  std::shared_ptr<const policy::LoadResult> rules;
  std::chrono::system_clock::time_point loaded_at;
};

// A runtime `rules enable|disable`: applied in order, later ones win.
struct RuleToggle {
  bool by_tag = false;
  std::string target;  // rule name or tag
  bool enabled = true;
  bool glob = false;  // target is a name glob (`*`, `?`), as in the config's `rules:`
};

// One complete generation: immutable once built, except the engine's
// per-rule match counters, which only the event thread writes.
struct ActivePolicy {
  uint64_t generation = 0;
  std::vector<Policy> policies;       // in first-load order; engine origin = index
  std::vector<RuleToggle> selection;  // the config's `rules:`, applied before `toggles`
  std::vector<RuleToggle> toggles;
  std::unique_ptr<engine::Engine> engine;

  bool rule_enabled(const policy::Rule& r) const;
  const Policy* find(std::string_view name) const;
};

// The kernel side of a switch (the filter tables). `prepare` runs on
// the control thread after the new engine compiled and before anything is
// published: build complete new tables for `next`; an error aborts the
// switch and is reported to the operator. `activate` runs on the event
// thread at the exact point the new engine takes over (flip the generation
// with one map update); it must not fail. `discard` drops prepared tables
// that will never be activated (a later switch superseded them).
class KernelPolicyHook {
 public:
  virtual ~KernelPolicyHook() = default;
  virtual std::expected<void, std::string> prepare(const ActivePolicy& next) = 0;
  virtual void activate(const ActivePolicy& next) = 0;
  virtual void discard(const ActivePolicy& next) { (void)next; }
  // Live kernel counters of one policy, when the kernel filter has them.
  struct Counters {
    uint64_t slots_used = 0;
    uint64_t seen = 0;    // events the policy's slots were evaluated on
    uint64_t passed = 0;  // events its slots let through to userspace
  };
  virtual std::optional<Counters> counters(const ActivePolicy& active,
                                           std::string_view policy) const = 0;
};

class PolicyManager {
 public:
  explicit PolicyManager(engine::EngineOptions opts) : opts_(std::move(opts)) {}

  // The configuration's rule selection (`rules:` enable/disable by name
  // glob or tag). Set before the first load; every later load and reload
  // applies it again, before the runtime toggles.
  void set_selection(std::vector<RuleToggle> selection) { selection_ = std::move(selection); }
  // A reloaded configuration's engine options and selection; they take
  // effect with the next change (the reload that follows).
  void set_config(engine::EngineOptions opts, std::vector<RuleToggle> selection) {
    std::lock_guard change(change_mu_);
    opts_ = std::move(opts);
    selection_ = std::move(selection);
  }

  // Set once, at start, on the event thread before it runs (the kernel
  // side exists only after the startup policy chose the programs to load).
  // The running generation is prepared and activated at once; an error
  // leaves no hook set.
  std::expected<void, std::string> set_kernel_hook(KernelPolicyHook* hook);
  const KernelPolicyHook* kernel_hook() const { return hook_; }

  // Each change validates first and either switches completely or changes
  // nothing. Changes are serialised; each returns the new generation.
  std::expected<uint64_t, Error> load(const std::string& name,
                                      const std::vector<std::string>& paths);
  std::expected<uint64_t, Error> unload(const std::string& name);
  // Re-read the files of one policy (or of all when `name` is empty).
  std::expected<uint64_t, Error> reload(const std::string& name = {});
  std::expected<uint64_t, Error> set_enabled(const RuleToggle& toggle);

  // The generation the event thread is using (for list/show/metrics).
  std::shared_ptr<const ActivePolicy> current() const;
  // Wait until the event thread adopted generation `gen`.
  bool wait_adopted(uint64_t gen, std::chrono::milliseconds timeout) const;

  // Event thread only. Cheap when nothing is pending; returns the engine
  // to use from now on.
  ActivePolicy& adopt_pending() {
    if (pending_gen_.load(std::memory_order_acquire) != active_->generation) adopt_slow();
    return *active_;
  }

  uint64_t load_errors() const { return load_errors_.load(std::memory_order_relaxed); }
  uint64_t switches() const { return adopted_gen_.load(std::memory_order_relaxed); }

 private:
  // The one switch function: build `next` completely, prepare the kernel
  // tables, publish. Called with change_mu_ held.
  std::expected<uint64_t, Error> commit(std::vector<Policy> policies,
                                        std::vector<RuleToggle> toggles);
  void adopt_slow();
  // Rules files that could not be read or had errors (not bad names).
  void count_load_error(const Error& e) {
    if (e.code != ErrorCode::InvalidArgument) load_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  std::shared_ptr<const ActivePolicy> latest() const;  // pending, else active

  engine::EngineOptions opts_;
  std::vector<RuleToggle> selection_;
  KernelPolicyHook* hook_ = nullptr;
  std::mutex change_mu_;  // one change at a time

  mutable std::mutex mu_;  // guards pending_, published_
  mutable std::condition_variable adopted_cv_;
  std::shared_ptr<ActivePolicy> pending_;
  std::shared_ptr<const ActivePolicy> published_;  // what the event thread adopted
  std::atomic<uint64_t> pending_gen_{0};
  std::atomic<uint64_t> adopted_gen_{0};
  uint64_t next_gen_ = 1;
  std::shared_ptr<ActivePolicy> active_ = std::make_shared<ActivePolicy>();  // event thread
  // Event thread: policy\0rule → (matches, kernel_passed).
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> retired_;
  std::atomic<uint64_t> load_errors_{0};
};

// Load `paths` (files or directories) as one policy, validating it; no
// engine is built. Errors carry every diagnostic.
std::expected<Policy, Error> load_policy(const std::string& name,
                                         const std::vector<std::string>& paths);
// Policy names: 1-64 of [A-Za-z0-9._-], starting with a letter or digit.
bool valid_policy_name(std::string_view name);

}  // namespace pg::user::control
