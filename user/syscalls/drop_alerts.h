// Drop alerts: whenever an event-loss counter moves, raise an internal
// alert ("Peregrine internal: events lost") through the normal outputs,
// saying how many events were lost since the last one and where. Rate
// limited: at most one alert per interval, carrying everything lost in it.
// (Alerts lost inside the outputs are reported by the Dispatcher itself.)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "user/config/config.h"
#include "user/metrics/exposition.h"
#include "user/output/alert.h"

namespace pg::user {

class DropAlerter {
 public:
  // Loss counters by place, e.g. {"kernel.ring_buffer_full", 12}.
  using Counters = std::vector<std::pair<std::string, uint64_t>>;

  DropAlerter(std::chrono::milliseconds interval, std::string hostname)
      : interval_(interval), hostname_(std::move(hostname)) {}

  // The alert to raise now, if counters moved and the interval has passed
  // since the previous alert.
  std::optional<output::Alert> check(const Counters& now_counters,
                                     std::chrono::steady_clock::time_point now);

  // Falco's syscall_event_drops, when the config has the section: act only
  // when the share of events lost since the last call exceeds `threshold`,
  // raise alerts through a token bucket (rate, max_burst), log and/or exit
  // as `actions` say. Call about once a second.
  void set_falco_policy(const config::SyscallEventDrops& p) { falco_ = p; }
  bool has_falco_policy() const { return falco_.configured; }
  struct Decision {
    std::optional<output::Alert> alert;  // raise it
    std::string log;                     // log it as a warning, unless empty
    bool exit = false;                   // stop the daemon
  };
  Decision decide(const Counters& now_counters, uint64_t events_seen,
                  std::chrono::steady_clock::time_point now);

 private:
  // The alert for what the counters lost since the last one; records them.
  std::optional<output::Alert> make_alert(const Counters& counters,
                                          std::chrono::steady_clock::time_point now);

  config::SyscallEventDrops falco_;
  uint64_t last_seen_ = 0;
  double tokens_ = -1;  // the bucket starts full
  std::optional<std::chrono::steady_clock::time_point> last_fill_;

  std::chrono::milliseconds interval_;
  std::string hostname_;
  Counters reported_;
  std::optional<std::chrono::steady_clock::time_point> last_alert_;
};

// Falco's `metrics.output_rule`: the metrics snapshot as the internal alert
// "Falco internal: metrics snapshot", with Falco's field names
// (falco.*, scap.*), for the metrics.* switches in `m`.
output::Alert metrics_snapshot_alert(const metrics::Snapshot& s, const config::Metrics& m,
                                     const std::string& hostname, double evts_rate_sec);

}  // namespace pg::user
