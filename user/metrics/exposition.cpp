#include "user/metrics/exposition.h"

#include <fmt/format.h>

#include <cmath>

namespace pg::user::metrics {

namespace {

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counters are integers; print them without an exponent up to 2^53.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
    return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Exposition::family(std::string_view name, Type type, std::string_view help) {
  name_ = std::string(name);
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help), name_,
                      type == Type::Counter ? "counter" : "gauge");
}

void Exposition::sample(const Labels& labels, double value) {
  out_ += name_;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i)
      out_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first,
                          escape_label_value(labels[i].second));
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

// The same numbers under the names Falco exports, so dashboards and alerts
// written for Falco (its Helm chart's Grafana dashboard) work unchanged.
// docs/metrics.md maps each name.
void render_falco_names(Exposition& e, const Snapshot& s) {
  using T = Exposition::Type;
  auto d = [](uint64_t v) { return double(v); };
  e.family("falcosecurity_falco_version_info", T::Gauge, "Peregrine's version (Falco's name).");
  e.sample({{"version", s.version}}, 1);
  e.family("falcosecurity_falco_duration_seconds_total", T::Counter,
           "Seconds since the daemon started (Falco's name).");
  e.sample({}, s.uptime_s);
  e.family("falcosecurity_falco_rules_matches_total", T::Counter,
           "Alerts raised per rule, with Falco's labels (priority as a number, 0 = Emergency).");
  for (const auto& r : s.rules) {
    Labels l = {{"priority", std::to_string(r.priority_number)},
                {"rule_name", r.rule},
                {"source", r.source}};
    for (const auto& t : r.tags) l.emplace_back("tag_" + t, "true");
    e.sample(l, d(r.matches));
  }
  e.family("falcosecurity_falco_outputs_queue_num_drops_total", T::Counter,
           "Alerts refused by the output queue (Falco's name).");
  e.sample({}, d(s.queue_drops));
  e.family("falcosecurity_scap_n_evts_total", T::Counter,
           "Events read from the ring buffer (Falco's name).");
  e.sample({}, d(s.records));
  uint64_t drops = 0;
  for (const auto& [reason, n] : s.kernel_drops) drops += n;
  e.family("falcosecurity_scap_n_drops_total", T::Counter,
           "Events lost in the kernel (Falco's name).");
  e.sample({}, d(drops));
  e.family("falcosecurity_falco_n_evts_total", T::Counter,
           "Events handed to the rule engine (Falco's name).");
  e.sample({}, d(s.decoded));
  if (s.resources) {
    e.family("falcosecurity_falco_cpu_usage_ratio", T::Gauge,
             "CPU use of the daemon (Falco's name).");
    e.sample({}, s.cpu_usage_ratio);
    e.family("falcosecurity_falco_memory_rss_bytes", T::Gauge,
             "Resident memory of the daemon (Falco's name).");
    e.sample({}, d(s.rss_bytes));
    e.family("falcosecurity_falco_memory_vsz_bytes", T::Gauge,
             "Virtual memory of the daemon (Falco's name).");
    e.sample({}, d(s.vsz_bytes));
  }
  if (!s.rules_files_sha256.empty()) {
    e.family("falcosecurity_falco_sha256_rules_files_info", T::Gauge,
             "SHA-256 of each rules file in use; the value is always 1 (Falco's name).");
    for (const auto& [f, h] : s.rules_files_sha256) e.sample({{"file_name", f}, {"sha256", h}}, 1);
  }
  if (!s.kernel_release.empty()) {
    e.family("falcosecurity_falco_kernel_release_info", T::Gauge,
             "The kernel release; the value is always 1 (Falco's name).");
    e.sample({{"kernel_release", s.kernel_release}}, 1);
  }
}

std::string render(const Snapshot& s) {
  using T = Exposition::Type;
  Exposition e;
  auto d = [](uint64_t v) { return double(v); };

  e.family("peregrine_build_info", T::Gauge, "Build information; the value is always 1.");
  e.sample({{"version", s.version}}, 1);
  e.family("peregrine_uptime_seconds", T::Gauge, "Seconds since the daemon started.");
  e.sample({}, s.uptime_s);

  e.family("peregrine_events_total", T::Counter,
           "Events by pipeline stage: kernel_seen and kernel_passed in the kernel filter, "
           "received from the ring buffer, decoded, matched by at least one rule.");
  if (s.kernel_seen) e.sample({{"stage", "kernel_seen"}}, d(*s.kernel_seen));
  if (s.kernel_passed) e.sample({{"stage", "kernel_passed"}}, d(*s.kernel_passed));
  e.sample({{"stage", "received"}}, d(s.records));
  e.sample({{"stage", "decoded"}}, d(s.decoded));
  e.sample({{"stage", "matched"}}, d(s.matched));

  e.family("peregrine_events_dropped_total", T::Counter,
           "Events lost, by where and why: in the kernel before the ring buffer, or in "
           "userspace as malformed records.");
  for (const auto& [reason, n] : s.kernel_drops)
    e.sample({{"stage", "kernel"}, {"reason", reason}}, d(n));
  e.sample({{"stage", "decode"}, {"reason", "malformed"}}, d(s.decode_errors));

  e.family("peregrine_drop_alerts_total", T::Counter,
           "Internal alerts raised because events were lost.");
  e.sample({}, d(s.drop_alerts));

  e.family("peregrine_programs_attached", T::Gauge, "BPF programs attached.");
  e.sample({}, d(s.programs_attached));

  e.family("peregrine_rule_matches_total", T::Counter,
           "Alerts raised per rule (counters carry over when a policy is reloaded).");
  for (const auto& r : s.rules)
    e.sample({{"policy", r.policy}, {"rule", r.rule}, {"priority", r.priority}}, d(r.matches));

  e.family("peregrine_policy_rules_enabled", T::Gauge, "Rules compiled and enabled, per policy.");
  for (const auto& p : s.policies) e.sample({{"policy", p.name}}, d(p.rules_enabled));
  e.family("peregrine_policy_files", T::Gauge, "Rules files, per policy.");
  for (const auto& p : s.policies) e.sample({{"policy", p.name}}, d(p.files));
  e.family("peregrine_policy_alerts_total", T::Counter, "Alerts raised, per policy.");
  for (const auto& p : s.policies) e.sample({{"policy", p.name}}, d(p.alerts));
  bool any_kernel = false;
  for (const auto& p : s.policies) any_kernel = any_kernel || p.kernel_slots.has_value();
  if (any_kernel) {
    e.family("peregrine_policy_kernel_slots", T::Gauge, "Kernel filter slots used, per policy.");
    for (const auto& p : s.policies)
      if (p.kernel_slots) e.sample({{"policy", p.name}}, d(*p.kernel_slots));
    e.family("peregrine_policy_kernel_events_total", T::Counter,
             "Events the policy's kernel filter slots saw and passed.");
    for (const auto& p : s.policies) {
      if (p.kernel_seen) e.sample({{"policy", p.name}, {"stage", "seen"}}, d(*p.kernel_seen));
      if (p.kernel_passed) e.sample({{"policy", p.name}, {"stage", "passed"}}, d(*p.kernel_passed));
    }
  }
  e.family("peregrine_policy_generation", T::Gauge,
           "Generation of the active policy; it grows by one with every switch.");
  e.sample({}, d(s.policy_generation));
  e.family("peregrine_rule_load_errors_total", T::Counter,
           "Policy loads and reloads refused because a rules file had errors.");
  e.sample({}, d(s.rule_load_errors));

  e.family("peregrine_alerts_enqueued_total", T::Counter, "Alerts accepted by the output queue.");
  e.sample({}, d(s.alerts_enqueued));
  e.family("peregrine_output_queue_depth", T::Gauge,
           "Alerts waiting, in the main queue and in each output's queue.");
  e.sample({{"queue", "main"}}, d(s.queue_depth));
  for (const auto& k : s.sinks) e.sample({{"queue", k.name}}, d(k.queue_depth));
  e.family("peregrine_output_queue_capacity", T::Gauge, "Capacity of each output queue.");
  e.sample({{"queue", "main"}}, d(s.queue_capacity));
  for (const auto& k : s.sinks) e.sample({{"queue", k.name}}, d(k.queue_capacity));
  e.family("peregrine_output_alerts_total", T::Counter,
           "Alerts per output by result: delivered, failed (after retries), dropped (queue "
           "full); output=queue counts the main queue's drops.");
  e.sample({{"output", "queue"}, {"result", "dropped"}}, d(s.queue_drops));
  for (const auto& k : s.sinks) {
    e.sample({{"output", k.name}, {"result", "delivered"}}, d(k.delivered));
    e.sample({{"output", k.name}, {"result", "failed"}}, d(k.failed));
    e.sample({{"output", k.name}, {"result", "dropped"}}, d(k.dropped));
  }
  e.family("peregrine_control_refused_total", T::Counter,
           "Control-socket connections refused because the peer was not root.");
  e.sample({}, d(s.control_refused));
  if (s.resources) {
    e.family("peregrine_cpu_usage_ratio", T::Gauge,
             "CPU time used by the daemon since it started over the time since (1 = one CPU).");
    e.sample({}, s.cpu_usage_ratio);
    e.family("peregrine_memory_rss_bytes", T::Gauge, "Resident memory of the daemon.");
    e.sample({}, d(s.rss_bytes));
    e.family("peregrine_memory_vsz_bytes", T::Gauge, "Virtual memory size of the daemon.");
    e.sample({}, d(s.vsz_bytes));
  }
  render_falco_names(e, s);
  return e.text();
}

}  // namespace pg::user::metrics
