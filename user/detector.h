// The detector without its event source: configuration, rules, engine and
// outputs, set up the same way for a live run (`peregrine run`) and for
// recordings (`peregrine replay`), so both raise the same alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/filter_tables.h"
#include "policy/ruleset.h"
#include "user/config/config.h"
#include "user/container/enricher.h"
#include "user/engine/engine.h"
#include "user/output/dispatcher.h"

namespace pg::user {

struct DetectorOptions {
  std::optional<std::string> config_path;  // -c
  std::vector<std::string> rules;          // -r
  std::vector<std::string> overrides;      // -o
  bool json = false;                       // --json
  bool no_kernel_filter = false;           // --no-kernel-filter
};

class Detector {
 public:
  // Loads and validates everything; nothing is started on error, and every
  // rules diagnostic has been logged.
  static std::expected<std::unique_ptr<Detector>, std::string> create(const DetectorOptions& o);

  void start_outputs() { out_->start(); }
  void stop_outputs() { out_->stop(); }
  void on_event(const Event& e, const ProcessTable& procs, CgroupMap& cgroups,
                std::string_view hostname) {
    if (containers_) {
      release_held(cgroups, hostname, false);
      if (containers_->hold(e, procs, cgroups, events_ + 1)) {
        ++events_;
        return;
      }
    }
    evaluate(e, procs, cgroups, hostname, ++events_);
  }
  // Look containers up in their runtimes (container.* config); without
  // this only id and type are known. A live run calls it; a replay not.
  void enable_containers();
  // Evaluate the events that waited for container metadata and may go now
  // (all of them when `all`, before stopping). Call it regularly.
  void release_held(CgroupMap& cgroups, std::string_view hostname, bool all);
  container::Enricher* containers() { return containers_.get(); }

  // One Kubernetes audit event (an audit.k8s.io Event object). Safe to call
  // from several threads (webhook requests) while on_event runs on another:
  // audit events are evaluated one at a time, against the audit rules only.
  void on_audit_event(const nlohmann::json& event, int64_t time_ns, std::string_view hostname) {
    std::lock_guard lock(audit_mu_);
    engine::AuditView view{event, time_ns, ++audit_events_, hostname};
    engine_->process(view, [&](output::Alert&& a) { out_->enqueue(std::move(a)); });
  }
  uint64_t audit_events() const { return audit_events_; }

  const config::Config& config() const { return cfg_; }
  const engine::Engine& engine() const { return *engine_; }
  engine::Engine& engine() { return *engine_; }
  // The loaded rules lowered into kernel filter tables.
  const policy::FilterTables& filter_tables() const { return filter_; }
  const policy::Ruleset& ruleset() const { return rules_.ruleset; }
  output::Dispatcher& outputs() { return *out_; }
  uint64_t events() const { return events_; }
  // Log how often each rule matched (the per-rule counters), busiest first.
  void log_rule_matches() const;
  // The syscall hooks the loaded rules need, among those this build has.
  std::vector<std::string> needed_hooks() const;

 private:
  Detector() = default;
  void evaluate(const Event& e, const ProcessTable& procs, CgroupMap& cgroups,
                std::string_view hostname, uint64_t num) {
    engine::EventView view{e,
                           procs,
                           procs.find(e.task.tgid),
                           num,
                           hostname,
                           &cgroups,
                           containers_ ? &containers_->metadata() : nullptr};
    engine_->process(view, [&](output::Alert&& a) { out_->enqueue(std::move(a)); });
  }
  config::Config cfg_;
  policy::LoadResult rules_;
  policy::FilterTables filter_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<output::Dispatcher> out_;
  uint64_t events_ = 0;
  std::mutex audit_mu_;
  std::atomic<uint64_t> audit_events_{0};
  std::unique_ptr<container::Enricher> containers_;
};

std::string host_name();

}  // namespace pg::user
