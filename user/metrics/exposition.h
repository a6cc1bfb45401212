// Prometheus text exposition format (version 0.0.4): a writer that keeps
// each metric family together under its HELP and TYPE lines and escapes
// label values, and the daemon's metric set rendered from one snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg::user::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  enum class Type { Counter, Gauge };
  // Start a family; samples until the next family() belong to it.
  void family(std::string_view name, Type type, std::string_view help);
  void sample(const Labels& labels, double value);
  // For _total/_info-style names that differ from the family's name.
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  std::string name_;
};

// "a\"b" → "a\\\"b": backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view v);

struct RuleSample {
  std::string policy, rule, priority;
  uint64_t matches = 0;
  int priority_number = 7;  // Falco's label: 0 Emergency … 7 Debug
  std::string source;
  std::vector<std::string> tags;
};

struct PolicySample {
  std::string name;
  uint64_t files = 0;
  uint64_t rules_enabled = 0;
  uint64_t alerts = 0;
  // Present once the kernel filter reports per-policy counters.
  std::optional<uint64_t> kernel_slots, kernel_seen, kernel_passed;
};

struct SinkSample {
  std::string name;
  uint64_t delivered = 0, failed = 0, dropped = 0;
  uint64_t queue_depth = 0, queue_capacity = 0;
};

// Everything /metrics shows, gathered at one moment.
struct Snapshot {
  std::string version;
  double uptime_s = 0;
  uint64_t records = 0;        // read from the ring buffer
  uint64_t decode_errors = 0;  // malformed records (dropped in userspace)
  uint64_t decoded = 0;        // handed to the rule engine
  uint64_t matched = 0;        // events that raised at least one alert
  // Kernel-side totals over all policies, once the kernel filter has them.
  std::optional<uint64_t> kernel_seen, kernel_passed;
  std::vector<std::pair<std::string, uint64_t>> kernel_drops;  // reason, count
  uint64_t programs_attached = 0;
  std::vector<RuleSample> rules;
  std::vector<PolicySample> policies;
  uint64_t policy_generation = 0;
  uint64_t rule_load_errors = 0;
  uint64_t alerts_enqueued = 0;
  uint64_t queue_drops = 0;
  uint64_t queue_depth = 0, queue_capacity = 0;
  std::vector<SinkSample> sinks;
  uint64_t drop_alerts = 0;
  uint64_t control_refused = 0;
  // The daemon's own use (metrics.resource_utilization_enabled).
  bool resources = true;
  double cpu_usage_ratio = 0;
  uint64_t rss_bytes = 0, vsz_bytes = 0;
  int64_t start_time_ns = 0;
  std::string kernel_release;
  std::vector<std::pair<std::string, std::string>> rules_files_sha256;  // file, digest
};

std::string render(const Snapshot& s);

}  // namespace pg::user::metrics
