#include "user/live_policy/policy_manager.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "user/config/config.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user::control {

bool valid_policy_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '.' || c == '_' || c == '-');
  };
  for (size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0)) return false;
  return true;
}

bool ActivePolicy::rule_enabled(const policy::Rule& r) const {
  bool on = r.enabled;
  auto apply = [&](const RuleToggle& t) {
    const bool hit = t.by_tag ? std::find(r.tags.begin(), r.tags.end(), t.target) != r.tags.end()
                     : t.glob ? ::fnmatch(t.target.c_str(), r.name.c_str(), 0) == 0
                              : r.name == t.target;
    if (hit) on = t.enabled;
  };
  for (const auto& t : selection) apply(t);
  for (const auto& t : toggles) apply(t);
  return on;
}

const Policy* ActivePolicy::find(std::string_view name) const {
  for (const auto& p : policies)
    if (p.name == name) return &p;
  return nullptr;
}

std::expected<Policy, Error> load_policy(const std::string& name,
                                         const std::vector<std::string>& paths) {
  if (!valid_policy_name(name))
    return std::unexpected(
        Error{ErrorCode::InvalidArgument,
              fmt::format("invalid policy name '{}': use 1-64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit",
                          name),
              {}});
  if (paths.empty())
    return std::unexpected(
        Error{ErrorCode::InvalidArgument, "a policy needs at least one rules file", {}});
  auto files = config::expand_rules_paths(paths);
  if (!files) return std::unexpected(Error{ErrorCode::NotFound, files.error().to_string(), {}});
  if (files->empty())
    return std::unexpected(
        Error{ErrorCode::NotFound,
              fmt::format("no rules files (*.yaml, *.yml) in {}", fmt::join(paths, ", ")),
              {}});
  auto result =
      std::make_shared<policy::LoadResult>(policy::load_rules(*files, rules_load_options()));
  if (!result->ok()) {
    Error e{ErrorCode::RulesInvalid,
            fmt::format("policy '{}': {} error(s) in its rules files; nothing was changed", name,
                        result->diagnostics.error_count()),
            {}};
    for (const auto& d : result->diagnostics.all())
      if (d.is_error()) e.diagnostics.push_back(d);
    // The first error, located, in the message itself.
    std::string first = policy::render_text(e.diagnostics.front());
    first.resize(std::min(first.size(), first.find('\n')));
    e.message += ": " + first;
    return std::unexpected(std::move(e));
  }
  return Policy{name, paths, std::move(*files), std::move(result),
                std::chrono::system_clock::now()};
}

std::shared_ptr<const ActivePolicy> PolicyManager::latest() const {
  std::lock_guard lock(mu_);
  if (pending_) return pending_;
  return published_;
}

std::shared_ptr<const ActivePolicy> PolicyManager::current() const {
  std::lock_guard lock(mu_);
  return published_;
}

bool PolicyManager::wait_adopted(uint64_t gen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return adopted_cv_.wait_for(lock, timeout, [&] { return adopted_gen_.load() >= gen; });
}

std::expected<void, std::string> PolicyManager::set_kernel_hook(KernelPolicyHook* hook) {
  std::lock_guard change(change_mu_);
  adopt_pending();
  if (hook && active_->engine) {
    if (auto ok = hook->prepare(*active_); !ok) return ok;
    hook->activate(*active_);
  }
  hook_ = hook;
  return {};
}

std::expected<uint64_t, Error> PolicyManager::load(const std::string& name,
                                                   const std::vector<std::string>& paths) {
  std::lock_guard change(change_mu_);
  auto p = load_policy(name, paths);
  if (!p) {
    count_load_error(p.error());
    return std::unexpected(std::move(p.error()));
  }
  auto base = latest();
  std::vector<Policy> policies = base ? base->policies : std::vector<Policy>{};
  std::vector<RuleToggle> toggles = base ? base->toggles : std::vector<RuleToggle>{};
  // Replacing keeps the policy's place in the evaluation order.
  auto it = std::find_if(policies.begin(), policies.end(),
                         [&](const Policy& q) { return q.name == name; });
  if (it != policies.end())
    *it = std::move(*p);
  else
    policies.push_back(std::move(*p));
  return commit(std::move(policies), std::move(toggles));
}

std::expected<uint64_t, Error> PolicyManager::unload(const std::string& name) {
  std::lock_guard change(change_mu_);
  auto base = latest();
  std::vector<Policy> policies = base ? base->policies : std::vector<Policy>{};
  auto it = std::find_if(policies.begin(), policies.end(),
                         [&](const Policy& q) { return q.name == name; });
  if (it == policies.end())
    return std::unexpected(
        Error{ErrorCode::NotFound, fmt::format("no policy named '{}'", name), {}});
  policies.erase(it);
  return commit(std::move(policies), base->toggles);
}

std::expected<uint64_t, Error> PolicyManager::reload(const std::string& name) {
  std::lock_guard change(change_mu_);
  auto base = latest();
  if (!base) return std::unexpected(Error{ErrorCode::NotFound, "no policy is loaded", {}});
  std::vector<Policy> policies;
  bool found = false;
  for (const auto& old : base->policies) {
    if (!name.empty() && old.name != name) {
      policies.push_back(old);
      continue;
    }
    found = true;
    auto p = load_policy(old.name, old.paths);
    if (!p) {
      count_load_error(p.error());
      return std::unexpected(std::move(p.error()));
    }
    policies.push_back(std::move(*p));
  }
  if (!found)
    return std::unexpected(
        Error{ErrorCode::NotFound, fmt::format("no policy named '{}'", name), {}});
  return commit(std::move(policies), base->toggles);
}

std::expected<uint64_t, Error> PolicyManager::set_enabled(const RuleToggle& toggle) {
  std::lock_guard change(change_mu_);
  auto base = latest();
  if (!base) return std::unexpected(Error{ErrorCode::NotFound, "no policy is loaded", {}});
  if (toggle.target.empty())
    return std::unexpected(
        Error{ErrorCode::InvalidArgument, "name a rule, or a tag with --tag", {}});
  bool known = false;
  for (const auto& p : base->policies)
    for (const auto& r : p.rules->ruleset.rules)
      known = known || (toggle.by_tag
                            ? std::find(r.tags.begin(), r.tags.end(), toggle.target) != r.tags.end()
                            : r.name == toggle.target);
  if (!known)
    return std::unexpected(
        Error{ErrorCode::NotFound,
              fmt::format("no loaded rule {} '{}'", toggle.by_tag ? "has the tag" : "is named",
                          toggle.target),
              {}});
  std::vector<RuleToggle> toggles = base->toggles;
  // The newest toggle for a target replaces older ones: the list stays short.
  std::erase_if(toggles, [&](const RuleToggle& t) {
    return t.by_tag == toggle.by_tag && t.target == toggle.target;
  });
  toggles.push_back(toggle);
  return commit(base->policies, std::move(toggles));
}

std::expected<uint64_t, Error> PolicyManager::commit(std::vector<Policy> policies,
                                                     std::vector<RuleToggle> toggles) {
  auto next = std::make_shared<ActivePolicy>();
  next->policies = std::move(policies);
  next->toggles = std::move(toggles);
  next->selection = selection_;
  std::vector<engine::RulesetRef> sets;
  const ActivePolicy* self = next.get();
  for (const auto& p : next->policies)
    sets.push_back(
        {&p.rules->ruleset, [self](const policy::Rule& r) { return self->rule_enabled(r); }});
  auto eng = engine::Engine::build(sets, opts_);
  if (!eng)
    return std::unexpected(
        Error{ErrorCode::SwitchFailed, "the new rule set does not compile: " + eng.error(), {}});
  next->engine = std::move(*eng);

  std::shared_ptr<ActivePolicy> superseded;
  {
    std::lock_guard lock(mu_);
    next->generation = next_gen_;
  }
  if (hook_) {
    if (auto ok = hook_->prepare(*next); !ok)
      return std::unexpected(Error{
          ErrorCode::SwitchFailed,
          "the kernel filter tables could not be built: " + ok.error() + "; nothing was changed",
          {}});
  }
  {
    std::lock_guard lock(mu_);
    ++next_gen_;
    superseded = std::move(pending_);
    pending_ = next;
    pending_gen_.store(next->generation, std::memory_order_release);
  }
  // A generation the event thread never picked up is replaced whole.
  if (superseded && hook_) hook_->discard(*superseded);
  return next->generation;
}

void PolicyManager::adopt_slow() {
  std::shared_ptr<ActivePolicy> next;
  {
    std::lock_guard lock(mu_);
    next = std::move(pending_);
  }
  if (!next) return;
  // Carry each rule's match and kernel-passed counters over, so per-rule counters (and the
  // metrics built on them) never go backwards: rules that leave the engine
  // (disabled, policy unloaded) keep theirs in retired_ until they return.
  auto key = [](const ActivePolicy& a, const engine::CompiledRule& r) {
    return a.policies[r.origin].name + '\0' + r.rule->name;
  };
  if (active_->engine)
    for (const auto& r : active_->engine->rules())
      retired_[key(*active_, r)] = {r.matches, r.kernel_passed};
  for (const auto& r : next->engine->rules()) {
    auto it = retired_.find(key(*next, r));
    if (it == retired_.end()) continue;
    std::atomic_ref<uint64_t>(const_cast<uint64_t&>(r.matches))
        .store(it->second.first, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(const_cast<uint64_t&>(r.kernel_passed))
        .store(it->second.second, std::memory_order_relaxed);
    retired_.erase(it);
  }
  if (hook_) hook_->activate(*next);
  active_ = next;
  {
    std::lock_guard lock(mu_);
    published_ = next;
    adopted_gen_.store(next->generation);
  }
  adopted_cv_.notify_all();
}

}  // namespace pg::user::control
