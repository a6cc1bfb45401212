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
  return e.text();
}

}  // namespace pg::user::metrics
