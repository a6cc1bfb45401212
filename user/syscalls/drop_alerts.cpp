#include "user/syscalls/drop_alerts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace pg::user {

std::optional<output::Alert> DropAlerter::check(const Counters& counters,
                                                std::chrono::steady_clock::time_point now) {
  if (interval_.count() <= 0) return std::nullopt;
  if (last_alert_ && now - *last_alert_ < interval_) return std::nullopt;
  return make_alert(counters, now);
}

std::optional<output::Alert> DropAlerter::make_alert(const Counters& counters,
                                                     std::chrono::steady_clock::time_point now) {
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

namespace {

// Under Falco's syscall_event_drops the alert is Falco's own, so SIEM rules
// keyed on it keep working: rule "Falco internal: syscall event drop",
// priority Debug, Falco's n_* fields (as text, as Falco writes them), and
// Peregrine's per-place pg.lost.* fields besides.
void as_falco_drop_alert(output::Alert& a, uint64_t lost, uint64_t seen) {
  auto lost_at = [&](std::string_view where) -> uint64_t {
    for (const auto& f : a.output_fields)
      if (f.name == "pg.lost." + std::string(where))
        if (auto* v = std::get_if<std::int64_t>(&f.value)) return uint64_t(*v);
    return 0;
  };
  a.rule = "Falco internal: syscall event drop";
  a.priority = output::Priority::Debug;
  a.output = fmt::format("{}. {} system calls dropped in last second.", a.rule, lost);
  a.tags.clear();
  std::vector<output::OutputField> falco = {
      {"n_evts", std::to_string(seen + lost)},
      {"n_drops", std::to_string(lost)},
      {"n_drops_buffer_total", std::to_string(lost_at("kernel.ring_buffer_full"))},
      {"n_drops_scratch_map", std::to_string(lost_at("kernel.no_scratch_buffer"))},
      {"n_drops_bug", std::to_string(lost_at("kernel.kernel_read_failed"))},
      {"ebpf_enabled", std::string("1")},
  };
  a.output_fields.insert(a.output_fields.begin(), falco.begin(), falco.end());
}

}  // namespace

DropAlerter::Decision DropAlerter::decide(const Counters& counters, uint64_t events_seen,
                                          std::chrono::steady_clock::time_point now) {
  Decision d;
  uint64_t lost = 0;
  for (const auto& [where, value] : counters) {
    uint64_t before = 0;
    for (const auto& [w, v] : reported_)
      if (w == where) before = v;
    if (value > before) lost += value - before;
  }
  const uint64_t seen = events_seen - std::min(events_seen, last_seen_);
  last_seen_ = events_seen;
  if (tokens_ < 0) tokens_ = falco_.max_burst;
  if (last_fill_)
    tokens_ = std::min<double>(
        falco_.max_burst,
        tokens_ + falco_.rate * std::chrono::duration<double>(now - *last_fill_).count());
  last_fill_ = now;
  if (lost == 0) return d;
  const double ratio = double(lost) / double(lost + seen);
  if (ratio <= falco_.threshold) {
    reported_ = counters;  // below the threshold: these losses are accepted
    return d;
  }
  if (falco_.log)
    d.log = fmt::format(
        "{} event(s) lost, {:.1f}% of the events since the last check (threshold "
        "{:.1f}%)",
        lost, 100 * ratio, 100 * falco_.threshold);
  d.exit = falco_.exit;
  if (falco_.alert && tokens_ >= 1) {
    tokens_ -= 1;  // the bucket, not the interval, limits these alerts
    d.alert = make_alert(counters, now);
    if (d.alert) as_falco_drop_alert(*d.alert, lost, seen);
  } else {
    reported_ = counters;
  }
  return d;
}

output::Alert metrics_snapshot_alert(const metrics::Snapshot& s, const config::Metrics& m,
                                     const std::string& hostname, double evts_rate_sec) {
  output::Alert a;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  a.rule = "Falco internal: metrics snapshot";
  a.priority = output::Priority::Informational;
  a.source = "internal";
  a.hostname = hostname;
  a.output = "Falco metrics snapshot";
  auto& f = a.output_fields;
  auto add = [&](std::string name, output::FieldValue v) {
    if (!m.include_empty_values) {
      if (auto* i = std::get_if<std::int64_t>(&v); i && *i == 0) return;
      if (auto* str = std::get_if<std::string>(&v); str && str->empty()) return;
    }
    f.push_back({std::move(name), std::move(v)});
  };
  add("evt.time", a.time_ns);
  add("evt.hostname", hostname);
  add("evt.source", std::string("syscall"));
  add("falco.version", s.version);
  add("falco.start_ts", s.start_time_ns);
  add("falco.duration_sec", int64_t(s.uptime_s));
  add("falco.kernel_release", s.kernel_release);
  add("falco.outputs_queue_num_drops", int64_t(s.queue_drops));
  add("falco.num_evts", int64_t(s.decoded));
  f.push_back({"falco.evts_rate_sec", evts_rate_sec});
  for (const auto& [file, digest] : s.rules_files_sha256) {
    std::string name = file.substr(file.find_last_of('/') + 1);
    std::replace(name.begin(), name.end(), '.', '_');
    add("falco.sha256_rules_file." + name, digest);
  }
  if (m.rules_counters_enabled) {
    uint64_t total = 0;
    for (const auto& r : s.rules) total += r.matches;
    add("falco.rules.matches_total", int64_t(total));
    for (const auto& r : s.rules) {
      std::string name;
      for (char c : r.rule) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      add("falco.rules." + name, int64_t(r.matches));
    }
  }
  if (m.resource_utilization_enabled) {
    f.push_back({"falco.cpu_usage_perc", 100.0 * s.cpu_usage_ratio});
    if (m.convert_memory_to_mb) {
      f.push_back({"falco.memory_rss_mb", double(s.rss_bytes) / (1024.0 * 1024.0)});
      f.push_back({"falco.memory_vsz_mb", double(s.vsz_bytes) / (1024.0 * 1024.0)});
    } else {
      add("falco.memory_rss_bytes", int64_t(s.rss_bytes));
      add("falco.memory_vsz_bytes", int64_t(s.vsz_bytes));
    }
  }
  if (m.kernel_event_counters_enabled) {
    uint64_t drops = 0;
    for (const auto& [reason, n] : s.kernel_drops) {
      drops += n;
      add("scap.n_drops_" + reason, int64_t(n));
    }
    add("scap.n_evts", int64_t(s.records));
    add("scap.n_drops", int64_t(drops));
  }
  return a;
}

}  // namespace pg::user
