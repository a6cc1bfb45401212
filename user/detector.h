// The detector without its event source: configuration, rules, engine and
// outputs, set up the same way for a live run (`peregrine run`) and for
// recordings (`peregrine replay`), so both raise the same alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
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
#include "user/live_policy/policy_manager.h"
#include "user/output/dispatcher.h"

namespace pg::user {

struct DetectorOptions {
  std::optional<std::string> config_path;  // -c
  std::vector<std::string> rules;          // -r
  std::vector<std::string> overrides;      // -o
  bool json = false;                       // --json
  bool no_kernel_filter = false;           // --no-kernel-filter
  bool strict_config = false;              // --strict-config
};

// The configuration as the detector uses it: loaded from -c/-o/-r, with the
// command-line switches applied, and its warnings logged (once each). Also
// applies the config's log_level unless --log-level was given.
std::expected<config::Config, config::ConfigError> load_detector_config(const DetectorOptions& o);

// Engine options from the configuration (priority threshold, rule matching,
// container fields, append_output, static_fields).
engine::EngineOptions engine_options(const config::Config& cfg);
// The configuration's `rules:` selection as policy toggles.
std::vector<control::RuleToggle> rule_selection(const config::Config& cfg);

class Detector {
 public:
  // Loads and validates everything; nothing is started on error, and every
  // rules diagnostic has been logged.
  static std::expected<std::unique_ptr<Detector>, std::string> create(const DetectorOptions& o);

  void start_outputs() { out_->start(); }
  // Within the stop deadline (user/signals.h) whatever the sinks do: what
  // is not delivered in 1.5 s is counted as lost.
  void stop_outputs() { out_->stop(std::chrono::milliseconds(1500)); }
  // Event thread. A policy change published since the last event takes
  // effect here, between two events.
  void on_event(const Event& e, const ProcessTable& procs, CgroupMap& cgroups,
                std::string_view hostname) {
    const uint64_t num = bump(events_);
    if (image_sink_) judge_images(&e, procs);
    if (containers_) {
      release_held(cgroups, hostname, false);
      if (containers_->hold(e, procs, cgroups, num)) return;
    }
    evaluate(e, procs, cgroups, hostname, num);
  }
  // Event thread, when idle: adopt a pending policy change without waiting
  // for the next event.
  void adopt_policy(const ProcessTable* procs = nullptr) {
    policies_.adopt_pending();
    if (image_sink_ && procs) judge_images(nullptr, *procs);
  }
  // Where the verdicts on process images go (the kernel filter's
  // pg_fimage, PG_FF_IMAGE): each exec's, as its record arrives, and every
  // known image's again under a new policy generation.
  using ImageSink = std::function<void(uint64_t image, const pg_image_slots&)>;
  void set_image_sink(ImageSink s) { image_sink_ = std::move(s); }
  // Look containers up in their runtimes (container.* config); without
  // this only id and type are known. A live run calls it; a replay not.
  void enable_containers();
  // Evaluate the events that waited for container metadata and may go now
  // (all of them when `all`, before stopping). Event thread; call it
  // regularly.
  void release_held(CgroupMap& cgroups, std::string_view hostname, bool all);
  container::Enricher* containers() { return containers_.get(); }

  // One Kubernetes audit event (an audit.k8s.io Event object). Safe to call
  // from several threads (webhook requests) while on_event runs on another:
  // audit events are evaluated one at a time, against the audit rules of
  // the generation the event thread last adopted.
  void on_audit_event(const nlohmann::json& event, int64_t time_ns, std::string_view hostname) {
    std::lock_guard lock(audit_mu_);
    auto active = policies_.current();  // keeps that engine alive meanwhile
    engine::AuditView view{event, time_ns, bump(audit_events_), hostname};
    bool matched = false;
    active->engine->process(view, [&](output::Alert&& a) {
      matched = true;
      out_->enqueue(std::move(a));
    });
    if (matched) matched_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t audit_events() const { return audit_events_.load(std::memory_order_relaxed); }

  const config::Config& config() const { return cfg_; }
  // The engine of the event thread (call only from it).
  const engine::Engine& engine() { return *policies_.adopt_pending().engine; }
  control::PolicyManager& policies() { return policies_; }
  output::Dispatcher& outputs() { return *out_; }
  // Counters any thread may read.
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  uint64_t matched_events() const { return matched_.load(std::memory_order_relaxed); }
  // Log how often each rule matched (the per-rule counters), busiest first.
  void log_rule_matches();
  // The syscall hooks the loaded rules need, among those this build has.
  std::vector<std::string> needed_hooks();

 private:
  explicit Detector(engine::EngineOptions eo) : policies_(std::move(eo)) {}
  // Single writer: a relaxed load+store is a plain increment, yet readers
  // on other threads see a whole value.
  static uint64_t bump(std::atomic<uint64_t>& c) {
    const uint64_t v = c.load(std::memory_order_relaxed) + 1;
    c.store(v, std::memory_order_relaxed);
    return v;
  }
  void evaluate(const Event& e, const ProcessTable& procs, CgroupMap& cgroups,
                std::string_view hostname, uint64_t num) {
    auto& active = policies_.adopt_pending();
    engine::EventView view{e,
                           procs,
                           procs.find(e.task.tgid),
                           num,
                           hostname,
                           &cgroups,
                           containers_ ? &containers_->metadata() : nullptr};
    bool matched = false;
    active.engine->process(view, [&](output::Alert&& a) {
      matched = true;
      a.origin_pid = e.task.tgid;
      out_->enqueue(std::move(a));
    });
    if (matched) matched_.fetch_add(1, std::memory_order_relaxed);
  }
  // Event thread: the exec `e` (when it is one; nullptr: none) and, after
  // a policy switch, every process image the table knows.
  void judge_images(const Event* e, const ProcessTable& procs);
  config::Config cfg_;
  control::PolicyManager policies_;
  ImageSink image_sink_;
  uint64_t images_judged_ = 0;  // the policy generation the kernel's image verdicts are of
  std::unique_ptr<output::Dispatcher> out_;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> matched_{0};  // events of either source that raised an alert
  std::mutex audit_mu_;
  std::atomic<uint64_t> audit_events_{0};  // written under audit_mu_
  std::unique_ptr<container::Enricher> containers_;
};

std::string host_name();
// The syscall hooks an engine's rules need, among those this build has.
std::vector<std::string> needed_hooks(const engine::Engine& eng);

}  // namespace pg::user
