#include "user/drop_alerts.h"

#include <fmt/format.h>

namespace pg::user {

std::optional<output::Alert> DropAlerter::check(const Counters& counters,
                                                std::chrono::steady_clock::time_point now) {
  if (interval_.count() <= 0) return std::nullopt;
  if (last_alert_ && now - *last_alert_ < interval_) return std::nullopt;
  uint64_t total = 0;
  std::string detail;
  output::Alert a;
  for (const auto& [where, value] : counters) {
    uint64_t before = 0;
    for (const auto& [w, v] : reported_)
      if (w == where) before = v;
    if (value <= before) continue;
    const uint64_t delta = value - before;
    total += delta;
    detail += fmt::format("{}{}={}", detail.empty() ? "" : ", ", where, delta);
    a.output_fields.push_back({"pg.lost." + where, static_cast<int64_t>(delta)});
  }
  if (total == 0) return std::nullopt;
  reported_ = counters;
  last_alert_ = now;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  a.rule = "Peregrine internal: events lost";
  a.priority = output::Priority::Critical;
  a.source = "internal";
  a.hostname = hostname_;
  a.output_fields.insert(a.output_fields.begin(),
                         output::OutputField{"pg.events_lost", static_cast<int64_t>(total)});
  a.output = fmt::format(
      "Peregrine internal: {} event(s) lost since the last report ({}); rules could not see "
      "them",
      total, detail);
  a.tags = {"peregrine", "drops"};
  return a;
}

}  // namespace pg::user
