#include "user/output/shedding.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pg::user::output {

double admission_share(Priority p) {
  switch (p) {
    case Priority::Emergency:
    case Priority::Alert:
    case Priority::Critical:
      return 1.0;
    case Priority::Error:
      return 0.95;
    case Priority::Warning:
      return 0.9;
    case Priority::Notice:
      return 0.85;
    case Priority::Informational:
      return 0.8;
    case Priority::Debug:
      return 0.75;
  }
  return 0.75;
}

bool Shedder::aggregate(const Alert& a, double pressure, std::chrono::steady_clock::time_point now,
                        bool& shedding) {
  shedding = false;
  if (a.internal()) return false;
  std::lock_guard lock(mu_);
  if (!active_) {
    if (pressure < opts_.start) return false;
    active_ = true;
    ++episodes_;
    last_summary_ = now;
    spdlog::warn(
        "output {}: alerts arrive faster than they are taken; until it catches up, repeats of a "
        "(rule, process) pair are counted in summary alerts instead of queued",
        opts_.name);
  }
  shedding = true;
  if (pressure >= opts_.stop) last_high_ = now;
  std::string key = a.rule;
  key += '\0';
  key += std::to_string(a.origin_pid);
  if (seen_.contains(key)) {
    // A repeat: queued while the queue is below `start` again (it drains
    // fast once repeats stop), folded while it is above, so the slots
    // above `start` stay free for new pairs and higher priorities and the
    // output still runs at its own speed.
    if (pressure < opts_.start) return false;
  } else if (seen_.size() < opts_.max_pairs) {
    seen_.insert(std::move(key));
    return false;  // the first of its pair in this episode
  } else if (pressure < opts_.start) {
    return false;
  }
  Folded& f = folded_[a.rule];
  if (f.count++ == 0) f.first = a;
  if (f.pids.size() < kMaxPids) f.pids.insert(a.origin_pid);
  ++aggregated_;
  return true;
}

Alert Shedder::summary(const std::string& rule, Folded& f, double seconds) const {
  Alert a = std::move(f.first);
  a.rule = rule;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  const std::string procs =
      f.pids.size() >= kMaxPids ? fmt::format("{}+", kMaxPids) : std::to_string(f.pids.size());
  a.output = fmt::format(
      "{} more alert(s) of this rule from {} process(es) in the last {:.1f}s were aggregated "
      "while the outputs were flooded; the first of them: {}",
      f.count, procs, seconds, a.output);
  a.output_fields.push_back({"pg.aggregated", static_cast<std::int64_t>(f.count)});
  a.output_fields.push_back({"pg.aggregated_processes", static_cast<std::int64_t>(f.pids.size())});
  a.tags.push_back("pg_aggregated");
  return a;
}

std::vector<Alert> Shedder::due_summaries(double pressure,
                                          std::chrono::steady_clock::time_point now, bool final) {
  std::lock_guard lock(mu_);
  std::vector<Alert> out;
  if (!active_) return out;
  if (pressure >= opts_.stop) last_high_ = now;
  const bool ending = final || now - last_high_ >= std::chrono::seconds(1);
  if (!ending && now - last_summary_ < opts_.summary_interval) return out;
  const double secs = std::chrono::duration<double>(now - last_summary_).count();
  for (auto& [rule, f] : folded_) out.push_back(summary(rule, f, secs));
  folded_.clear();
  last_summary_ = now;
  if (ending) {
    active_ = false;
    seen_.clear();
    spdlog::info(
        "output: the outputs caught up; every alert is queued again ({} aggregated so far)",
        aggregated_);
  }
  return out;
}

std::uint64_t Shedder::aggregated() const {
  std::lock_guard lock(mu_);
  return aggregated_;
}

std::uint64_t Shedder::episodes() const {
  std::lock_guard lock(mu_);
  return episodes_;
}

}  // namespace pg::user::output
