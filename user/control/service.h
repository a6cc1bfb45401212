// The daemon's control plane for `peregrine run`: answers the control
// socket's commands, serves /metrics and /healthz, reloads policies on
// SIGHUP and when watched rules files change, all off the event thread.
// Policy changes go through the Detector's PolicyManager, so the event
// thread picks them up between two events.
#pragma once

#include <atomic>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "user/config/config.h"
#include "user/control/protocol.h"
#include "user/control/rules_watch.h"
#include "user/control/runtime_stats.h"
#include "user/control/socket.h"
#include "user/metrics/exposition.h"
#include "user/metrics/server.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user {
class Detector;
}

namespace pg::user::control {

struct ServiceOptions {
  std::string socket_path;      // "" : no control socket
  config::Webserver webserver;  // Falco's webserver: /healthz, and /metrics when asked
  bool metrics = false;
  std::string metrics_address;
  int metrics_port = 0;
  bool watch_rules_files = false;
  // The programs attached now (a policy loaded live may have added some)
  // and the syscalls this kernel has no tracepoint for. Unset when no
  // syscall programs were loaded at start: none can be added then.
  std::function<std::vector<std::string>()> attached;
  std::function<std::vector<std::string>()> uncaptured;
  // Records waiting in the ring buffer now (captured, not yet read).
  std::function<uint64_t()> queued;
  std::vector<BpfSession::MapInfo> maps;  // maps loaded
  // Re-reads the configuration as at start (same -c, -o and -r) for a
  // SIGHUP; unset: SIGHUP reloads the rules only. The running
  // configuration is `running_config`.
  std::function<std::expected<config::Config, std::string>()> reread_config;
  config::Config running_config;
};

class ControlService {
 public:
  // Starts the socket (a failure there is a warning: the daemon runs on
  // without it) and the metrics endpoint (a failure there is an error).
  static std::expected<std::unique_ptr<ControlService>, std::string> start(
      Detector& detector, const RuntimeStats& stats, ServiceOptions opts);
  ~ControlService();

  // Reload every policy from its files soon, on the control thread (SIGHUP).
  void request_reload() noexcept;

  Json handle(const Request& r);
  metrics::Snapshot metrics_snapshot() const;
  bool socket_active() const { return !server_->path().empty(); }

 private:
  ControlService(Detector& d, const RuntimeStats& s, ServiceOptions o)
      : detector_(d), stats_(s), opts_(std::move(o)) {}
  void tick(bool woken);
  void refresh_digests();  // rules files' SHA-256, after a start or reload
  void watch_files();
  Json status() const;
  Json policy_list() const;
  Json policy_show(const std::string& name) const;
  // Finish a successful change: wait until the event thread uses it, and
  // say which programs it attached (`attached_before`: those attached
  // before it) and which syscalls its rules watch remain unattached.
  Json changed(uint64_t generation, Json result, const std::vector<std::string>& attached_before);
  std::vector<std::string> attached_programs() const;

  Detector& detector_;
  const RuntimeStats& stats_;
  ServiceOptions opts_;
  std::atomic<bool> reload_requested_{false};
  // SIGHUP with a configuration: apply what can change live, say what needs
  // a restart. Control thread.
  void reload_config();
  // Watched files per policy: name → (loaded_at, signature of its files).
  std::map<std::string, std::pair<int64_t, std::string>> watched_;
  std::unique_ptr<ControlServer> server_;
  std::atomic<ControlServer*> server_ptr_{nullptr};  // for the watch thread
  std::unique_ptr<metrics::MetricsServer> metrics_;
  std::unique_ptr<metrics::MetricsServer> webserver_;
  mutable std::mutex digests_mu_;
  std::vector<std::pair<std::string, std::string>> rules_digests_;
  std::unique_ptr<RulesWatch> rules_watch_;
};

}  // namespace pg::user::control
