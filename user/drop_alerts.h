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

 private:
  std::chrono::milliseconds interval_;
  std::string hostname_;
  Counters reported_;
  std::optional<std::chrono::steady_clock::time_point> last_alert_;
};

}  // namespace pg::user
