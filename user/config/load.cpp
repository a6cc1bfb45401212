// Reading and validating the daemon configuration. The schema below is the
// single list of accepted keys: anything else is an error with its position
// and the nearest known key, so a typo never silently means "default".
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "user/config/schema.h"
#include "user/io/input_file.h"
#include "user/log_level.h"

namespace pg::user::config {

namespace detail {
Err string_list(const YAML::Node& n, const std::string& key, const Origins& o,
                std::vector<std::string>& out) {
  out.clear();
  if (n.IsNull()) return std::nullopt;
  if (n.IsScalar()) {  // a single path is a list of one
    out.push_back(n.Scalar());
    return std::nullopt;
  }
  if (!n.IsSequence())
    return make_error(ConfigErrorCode::WrongType, o, n, key,
                      "expected a list of paths, got " + describe(n));
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar() || n[i].Scalar().empty())
      return make_error(ConfigErrorCode::WrongType, o, n[i], fmt::format("{}[{}]", key, i),
                        "expected a path, got " + describe(n[i]));
    out.push_back(n[i].Scalar());
  }
  return std::nullopt;
}

}  // namespace detail

namespace {

using namespace detail;

Err header_map(const YAML::Node& n, const std::string& key, const Origins& o,
               std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  if (n.IsNull()) return std::nullopt;
  if (!n.IsMap())
    return make_error(ConfigErrorCode::WrongType, o, n, key,
                      "expected a map of header names to values, got " + describe(n),
                      "write e.g. headers: {Authorization: \"Bearer abc\"}");
  static const std::regex token(R"(^[!#$%&'*+.^_`|~0-9A-Za-z-]+$)");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string name = it->first.Scalar();
    if (!std::regex_match(name, token))
      return make_error(ConfigErrorCode::BadValue, o, it->first, key + "." + name,
                        "not a valid HTTP header name");
    if (!it->second.IsScalar() || it->second.Scalar().find_first_of("\r\n") != std::string::npos)
      return make_error(ConfigErrorCode::WrongType, o, it->second, key + "." + name,
                        "expected a single-line header value, got " + describe(it->second));
    out.emplace_back(name, it->second.Scalar());
  }
  return std::nullopt;
}

std::optional<RuleMatching> parse_rule_matching(const std::string& s) {
  if (s == "first") return RuleMatching::First;
  if (s == "all") return RuleMatching::All;
  return std::nullopt;
}

std::optional<std::string> log_level_word(const std::string& s) {
  if (parse_log_level(s)) return s;
  return std::nullopt;
}

KeySpec section(std::string_view name, std::vector<KeySpec> children) {
  return {name, std::move(children)};
}

#define FIELD(expr) \
  [](Config & c) -> auto& { return c.expr; }

// container.engines.<name>: Falco's container plugin keys.
template <class Get>
KeySpec engine(std::string_view name, Get get) {
  return section(
      name, {
                {"enabled", [get](const YAML::Node& n, const std::string& k, const Origins& o,
                                  Config& c) { return read_bool(n, k, o, get(c).enabled); }},
                {"sockets",
                 [get](const YAML::Node& n, const std::string& k, const Origins& o, Config& c) {
                   get(c).sockets_set = true;
                   return string_list(n, k, o, get(c).sockets);
                 }},
            });
}

// Falco's keys without an equivalent: what Peregrine does instead.
constexpr const char* kPluginsInstead =
    "plugins are not loaded; the container, k8saudit and json plugins' fields are built in";

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> s = {
      {"config_files",  // merged before validation (merge_config_files)
       [](const YAML::Node&, const std::string&, const Origins&, Config&) -> Err {
         return std::nullopt;
       }},
      boolean("watch_config_files", FIELD(watch_rules_files)),
      {"rules_files", [](const YAML::Node& n, const std::string& k, const Origins& o,
                         Config& c) { return string_list(n, k, o, c.rules_files); }},
      {"rules", read_rule_selection},
      unsupported("engine",
                  "Peregrine always uses its CO-RE eBPF probe on per-syscall tracepoints; size "
                  "its ring buffer with ring_buffer_size_mb, replay with `peregrine replay`"),
      unsupported("capture",
                  "per-rule .scap captures do not exist; `peregrine run --record FILE` records "
                  "the events that reach userspace for `peregrine replay`"),
      unsupported("load_plugins", kPluginsInstead, {"[]"}),
      unsupported("plugins", kPluginsInstead, {"[]"}),
      unsupported("plugins_hostinfo", "host information is always available", {"true"}),
      boolean("time_format_iso_8601", FIELD(time_format_iso_8601)),
      unsupported("buffer_format_base64", "no data buffers are captured", {"false"}),
      choice(
          "priority", FIELD(priority),
          [](const std::string& v) { return policy::priority_from_name(v); },
          "emergency, alert, critical, error, warning, notice, informational, debug"),
      choice("rule_matching", FIELD(rule_matching), parse_rule_matching, "first, all"),
      boolean("json_output", FIELD(json_output)),
      boolean("json_include_output_property", FIELD(json_include_output_property)),
      boolean("json_include_message_property", FIELD(json_include_message_property)),
      boolean("json_include_output_fields_property", FIELD(json_include_output_fields_property)),
      boolean("json_include_tags_property", FIELD(json_include_tags_property)),
      unsupported("buffered_outputs", "every alert is written with its own write(2) (unbuffered)",
                  {"false"}),
      choice("log_level", FIELD(log_level), log_level_word, kLogLevelWords),
      unsupported("log_stderr", "the daemon always logs to stderr", {"true"}),
      unsupported("log_syslog", "the daemon logs to stderr only (under systemd, journald keeps it)",
                  {"false"}),
      unsupported("libs_logger", "libbpf's messages are logged at debug level (--log-level debug)"),
      unsupported("output_timeout",
                  "each output has its own timeout (program_output.write_timeout_ms, "
                  "http_output.timeout_ms); a blocked output never holds up the others"),
      unsupported("syscall_event_timeouts",
                  "the ring buffer is polled every 100 ms; a stalled event loop shows on /healthz"),
      unsupported("base_syscalls",
                  "programs are attached for exactly the syscalls the loaded rules name, plus "
                  "process lifecycle"),
      unsupported("falco_libs", "the process table is sized and purged automatically"),
      unsupported("grpc", "removed from Falco in 0.44; use http_output"),
      unsupported("grpc_output", "removed from Falco in 0.44; use http_output"),
      unsupported("outputs", "removed from Falco; every alert is delivered (rate limits: none)"),
      {"append_output", read_append_output},
      {"static_fields", read_static_fields},
      section(
          "outputs_queue",
          {
              // 0 is Falco's "unbounded".
              integer("capacity", FIELD(outputs_queue.capacity), 0, 1 << 24, "alerts"),
              integer("sink_capacity", FIELD(outputs_queue.sink_capacity), 1, 1 << 24, "alerts"),
              integer("lost_alert_interval_ms", FIELD(outputs_queue.lost_alert_interval_ms), 0,
                      3'600'000, "milliseconds"),
          }),
      section("stdout_output", {boolean("enabled", FIELD(stdout_output.enabled))}),
      section("file_output",
              {
                  boolean("enabled", FIELD(file_output.enabled)),
                  boolean("keep_alive", FIELD(file_output.keep_alive)),
                  string("filename", FIELD(file_output.filename)),
              }),
      section("syslog_output",
              {
                  boolean("enabled", FIELD(syslog_output.enabled)),
                  string("socket", FIELD(syslog_output.socket)),
              }),
      section("program_output",
              {
                  boolean("enabled", FIELD(program_output.enabled)),
                  boolean("keep_alive", FIELD(program_output.keep_alive)),
                  string("program", FIELD(program_output.program)),
                  integer("write_timeout_ms", FIELD(program_output.write_timeout_ms), 1, 600'000,
                          "milliseconds"),
                  integer("restart_delay_ms", FIELD(program_output.restart_delay_ms), 0, 600'000,
                          "milliseconds"),
              }),
      section("http_output",
              {
                  boolean("enabled", FIELD(http_output.enabled)),
                  string("url", FIELD(http_output.url)),
                  string("user_agent", FIELD(http_output.user_agent)),
                  {"headers", [](const YAML::Node& n, const std::string& k, const Origins& o,
                                 Config& c) { return header_map(n, k, o, c.http_output.headers); }},
                  integer("connect_timeout_ms", FIELD(http_output.connect_timeout_ms), 1, 600'000,
                          "milliseconds"),
                  integer("timeout_ms", FIELD(http_output.timeout_ms), 1, 600'000, "milliseconds"),
                  integer("max_retries", FIELD(http_output.max_retries), 0, 100),
                  integer("retry_backoff_ms", FIELD(http_output.retry_backoff_ms), 0, 600'000,
                          "milliseconds"),
                  integer("max_backoff_ms", FIELD(http_output.max_backoff_ms), 0, 3'600'000,
                          "milliseconds"),
                  boolean("insecure", FIELD(http_output.insecure)),
                  string("ca_file", FIELD(http_output.ca_file)),
                  string("ca_cert", FIELD(http_output.ca_file)),
                  string("ca_bundle", FIELD(http_output.ca_bundle)),
                  string("ca_path", FIELD(http_output.ca_path)),
                  boolean("mtls", FIELD(http_output.mtls)),
                  string("client_cert", FIELD(http_output.client_cert)),
                  string("client_key", FIELD(http_output.client_key)),
                  boolean("compress_uploads", FIELD(http_output.compress_uploads)),
                  boolean("keep_alive", FIELD(http_output.keep_alive)),
                  unsupported("echo", "the receiver's answer is not printed", {"false"}),
                  unsupported("max_consecutive_timeouts",
                              "every alert is retried on timeouts, 5xx and 429 "
                              "(http_output.max_retries, retry_backoff_ms, max_backoff_ms)"),
              }),
      integer("ring_buffer_size_mb", FIELD(ring_buffer_size_mb), 1, 1024, "MiB (a power of two)"),
      boolean("kernel_filter", FIELD(kernel_filter)),
      boolean("raw_syscall_fallback", FIELD(raw_syscall_fallback)),
      section(
          "metrics",
          {
              boolean("enabled", FIELD(metrics.enabled)),
              string("address", FIELD(metrics.address)),
              integer("port", FIELD(metrics.port), 1, 65535),
              {"interval", [](const YAML::Node& n, const std::string& k, const Origins& o,
                              Config& c) { return read_duration(n, k, o, c.metrics.interval_ms); }},
              boolean("output_rule", FIELD(metrics.output_rule)),
              string("output_file", FIELD(metrics.output_file)),
              boolean("rules_counters_enabled", FIELD(metrics.rules_counters_enabled)),
              boolean("resource_utilization_enabled", FIELD(metrics.resource_utilization_enabled)),
              boolean("kernel_event_counters_enabled",
                      FIELD(metrics.kernel_event_counters_enabled)),
              boolean("convert_memory_to_mb", FIELD(metrics.convert_memory_to_mb)),
              boolean("include_empty_values", FIELD(metrics.include_empty_values)),
              unsupported("state_counters_enabled", "the process table's size is not reported",
                          {"false"}),
              unsupported("kernel_event_counters_per_cpu_enabled",
                          "one ring buffer is shared by all CPUs; drops are counted per "
                          "reason, not per CPU",
                          {"false"}),
              unsupported("libbpf_stats_enabled",
                          "per-program run time is not reported (bpftool prog show has it)",
                          {"false"}),
              unsupported("plugins_metrics_enabled", kPluginsInstead, {"false"}),
              unsupported("kernel_iter_event_counters_enabled",
                          "the process table is seeded from /proc, not from BPF iterators",
                          {"false"}),
              unsupported("jemalloc_stats_enabled", "Peregrine does not use jemalloc", {"false"}),
          }),
      section(
          "webserver",
          {
              boolean("enabled", FIELD(webserver.enabled)),
              string("listen_address", FIELD(webserver.listen_address)),
              integer("listen_port", FIELD(webserver.listen_port), 1, 65535),
              string("k8s_healthz_endpoint", FIELD(webserver.k8s_healthz_endpoint)),
              boolean("prometheus_metrics_enabled", FIELD(webserver.prometheus_metrics_enabled)),
              unsupported("threadiness", "one thread serves the webserver", {"0", "1"}),
              boolean("ssl_enabled", FIELD(webserver.ssl_enabled)),
              string("ssl_certificate", FIELD(webserver.ssl_certificate)),
          }),
      section("syscall_event_drops",
              {
                  real("threshold", FIELD(syscall_event_drops.threshold), 0.0, 1.0),
                  {"actions", read_drop_actions},
                  real("rate", FIELD(syscall_event_drops.rate), 0.0, 1e6),
                  integer("max_burst", FIELD(syscall_event_drops.max_burst), 0, 1'000'000),
                  unsupported("simulate_drops", "drops cannot be simulated", {"false"}),
              }),
      section(
          "k8s_audit",
          {
              boolean("enabled", FIELD(k8s_audit.enabled)),
              string("address", FIELD(k8s_audit.address)),
              integer("port", FIELD(k8s_audit.port), 1, 65535),
              string("path", FIELD(k8s_audit.path)),
              string("tls_cert", FIELD(k8s_audit.tls_cert)),
              string("tls_key", FIELD(k8s_audit.tls_key)),
              string("token", FIELD(k8s_audit.token)),
              string("file", FIELD(k8s_audit.file)),
              integer("max_request_mb", FIELD(k8s_audit.max_request_mb), 1, 1024, "MiB"),
              integer("header_timeout_ms", FIELD(k8s_audit.header_timeout_ms), 100, 600'000, "ms"),
              integer("body_timeout_ms", FIELD(k8s_audit.body_timeout_ms), 100, 3'600'000, "ms"),
              integer("max_connections", FIELD(k8s_audit.max_connections), 1, 4096),
          }),
      section("container",
              {
                  boolean("enabled", FIELD(container.enabled)),
                  section("engines",
                          {
                              engine("docker", FIELD(container.docker_engine)),
                              engine("podman", FIELD(container.podman_engine)),
                              engine("containerd", FIELD(container.containerd_engine)),
                              engine("cri", FIELD(container.cri_engine)),
                          }),
                  {"containerd_namespaces",
                   [](const YAML::Node& n, const std::string& k, const Origins& o, Config& c) {
                     return string_list(n, k, o, c.container.containerd_namespaces);
                   }},
                  boolean("disk_metadata", FIELD(container.disk_metadata)),
                  {"runc_state_dirs",
                   [](const YAML::Node& n, const std::string& k, const Origins& o, Config& c) {
                     return string_list(n, k, o, c.container.runc_state_dirs);
                   }},
                  string("containers_storage", FIELD(container.containers_storage)),
                  string("docker_socket", FIELD(container.docker_socket)),
                  string("containerd_socket", FIELD(container.containerd_socket)),
                  string("crio_socket", FIELD(container.crio_socket)),
                  string("podman_socket", FIELD(container.podman_socket)),
                  integer("hold_ms", FIELD(container.hold_ms), 0, 60'000, "milliseconds"),
                  integer("request_timeout_ms", FIELD(container.request_timeout_ms), 1, 600'000,
                          "milliseconds"),
                  integer("cache_ttl_s", FIELD(container.cache_ttl_s), 1, 86'400, "seconds"),
                  {"alert_fields",
                   [](const YAML::Node& n, const std::string& k, const Origins& o, Config& c) {
                     return string_list(n, k, o, c.container.alert_fields);
                   }},
              }),
      string("control_socket", FIELD(control_socket)),
      boolean("watch_rules_files", FIELD(watch_rules_files)),
  };
  return s;
}

#undef FIELD

// Every problem of the tree goes into `errs`; reading goes on after one, so
// a single pass reports them all.
void walk(const YAML::Node& map, const std::vector<KeySpec>& specs, const std::string& prefix,
          const Origins& o, Config& c, std::vector<ConfigError>& errs) {
  if (!map.IsMap()) {
    errs.push_back(make_error(ConfigErrorCode::WrongType, o, map, prefix,
                              "expected a map of keys, got " + describe(map)));
    return;
  }
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second) {
      errs.push_back(make_error(ConfigErrorCode::BadValue, o, it->first, key, "key given twice",
                                "keep one of the two"));
      continue;
    }
    const auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const KeySpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      std::vector<std::string_view> names;
      for (const auto& s : specs) names.push_back(s.name);
      auto guess = detail::did_you_mean(name, names);
      errs.push_back(make_error(
          ConfigErrorCode::UnknownKey, o, it->first, key, "unknown key",
          guess ? "did you mean '" + *guess + "'?"
                : "see docs/configuration.md for the keys " +
                      (prefix.empty() ? std::string("at the top level") : "under " + prefix)));
      continue;
    }
    const size_t warned = c.warnings.size();
    if (!spec->children.empty()) {
      if (it->second.IsNull()) continue;  // an empty section keeps its defaults
      walk(it->second, spec->children, key, o, c, errs);
    } else if (auto e = spec->apply(it->second, key, o, c)) {
      errs.push_back(std::move(*e));
    }
    // A warning about a whole section points at its key, not its first child.
    for (size_t i = warned; i < c.warnings.size(); ++i)
      if (c.warnings[i].key == key && c.warnings[i].line > 0 && !it->first.Mark().is_null()) {
        c.warnings[i].line = it->first.Mark().line + 1;
        c.warnings[i].column = it->first.Mark().column + 1;
      }
  }
}

// Rules that involve more than one key, checked once every key is read.
Err check_combinations(const YAML::Node& root, const Origins& o, const Config& c) {
  auto at = [&](const char* section) { return root[section]; };
  if ((c.ring_buffer_size_mb & (c.ring_buffer_size_mb - 1)) != 0)
    return make_error(ConfigErrorCode::BadValue, o, root["ring_buffer_size_mb"],
                      "ring_buffer_size_mb",
                      fmt::format("{} is not a power of two", c.ring_buffer_size_mb),
                      "the kernel ring buffer size must be a power of two: use 1, 2, 4, 8, 16, …");
  if (c.file_output.enabled && c.file_output.filename.empty())
    return make_error(ConfigErrorCode::Missing, o, at("file_output"), "file_output.filename",
                      "file output is enabled but has no filename",
                      "set file_output.filename, or file_output.enabled: false");
  if (c.program_output.enabled && c.program_output.program.empty())
    return make_error(ConfigErrorCode::Missing, o, at("program_output"), "program_output.program",
                      "program output is enabled but has no program",
                      "set program_output.program to a shell command");
  if (c.http_output.enabled) {
    static const std::regex url(R"(^https?://[^/\s]+(/\S*)?$)");
    if (c.http_output.url.empty())
      return make_error(ConfigErrorCode::Missing, o, at("http_output"), "http_output.url",
                        "http output is enabled but has no url", "set http_output.url");
    if (!std::regex_match(c.http_output.url, url))
      return make_error(ConfigErrorCode::BadValue, o, root["http_output"]["url"], "http_output.url",
                        "'" + c.http_output.url + "' is not an http:// or https:// URL",
                        "write e.g. https://collector.example:2801/alerts");
  }
  if (c.http_output.enabled && c.http_output.mtls &&
      (c.http_output.client_cert.empty() || c.http_output.client_key.empty()))
    return make_error(
        ConfigErrorCode::Missing, o, at("http_output"),
        c.http_output.client_cert.empty() ? "http_output.client_cert" : "http_output.client_key",
        "mtls is on but the client certificate or its key is not set",
        "set both http_output.client_cert and http_output.client_key");
  if (c.webserver.enabled && !c.webserver.k8s_healthz_endpoint.starts_with('/'))
    return make_error(ConfigErrorCode::BadValue, o, root["webserver"]["k8s_healthz_endpoint"],
                      "webserver.k8s_healthz_endpoint",
                      "'" + c.webserver.k8s_healthz_endpoint + "' does not start with '/'",
                      "write e.g. /healthz");
  if (c.webserver.enabled && c.webserver.ssl_enabled &&
      ::access(c.webserver.ssl_certificate.c_str(), R_OK) != 0)
    return make_error(ConfigErrorCode::BadValue, o,
                      root["webserver"]["ssl_certificate"].IsDefined()
                          ? root["webserver"]["ssl_certificate"]
                          : at("webserver"),
                      "webserver.ssl_certificate",
                      "cannot read '" + c.webserver.ssl_certificate + "': " + std::strerror(errno),
                      "ssl_enabled needs one PEM file holding the certificate and its key");
  if (c.k8s_audit.tls_cert.empty() != c.k8s_audit.tls_key.empty())
    return make_error(ConfigErrorCode::Missing, o, at("k8s_audit"),
                      c.k8s_audit.tls_cert.empty() ? "k8s_audit.tls_cert" : "k8s_audit.tls_key",
                      "TLS needs both a certificate and its key",
                      "set both tls_cert and tls_key, or neither");
  if (c.k8s_audit.enabled && c.k8s_audit.file.empty() && c.k8s_audit.token.empty() &&
      !c.k8s_audit.address.starts_with("127.") && c.k8s_audit.address != "::1")
    return make_error(ConfigErrorCode::Missing, o, at("k8s_audit"), "k8s_audit.token",
                      "the webhook would listen on " + c.k8s_audit.address +
                          " (not loopback) without a token, so anyone reaching it could forge "
                          "audit events and alerts",
                      "set k8s_audit.token (and tls_cert/tls_key), or address: 127.0.0.1");
  if (c.k8s_audit.enabled && !c.k8s_audit.path.starts_with('/'))
    return make_error(ConfigErrorCode::BadValue, o, root["k8s_audit"]["path"], "k8s_audit.path",
                      "'" + c.k8s_audit.path + "' does not start with '/'",
                      "write e.g. /k8s-audit");
  return std::nullopt;
}

void collect_keys(const std::vector<KeySpec>& specs, const std::string& prefix,
                  std::vector<std::string>& out) {
  for (const auto& s : specs) {
    const std::string key =
        prefix.empty() ? std::string(s.name) : prefix + "." + std::string(s.name);
    if (s.children.empty())
      out.push_back(key);
    else
      collect_keys(s.children, key, out);
  }
}

// Falco's deprecated singular `rules_file` (still read by Falco, with a
// warning): it means rules_files, and setting both is an error.
Err legacy_rules_file(YAML::Node& root, const Origins& origins, Config& cfg) {
  if (!root.IsMap()) return std::nullopt;
  const YAML::Node legacy = root["rules_file"];
  if (!legacy.IsDefined()) return std::nullopt;
  if (root["rules_files"].IsDefined())
    return make_error(ConfigErrorCode::BadValue, origins, legacy, "rules_file",
                      "both 'rules_files' and the deprecated 'rules_file' are set",
                      "keep only rules_files");
  ConfigError w =
      make_error(ConfigErrorCode::Unsupported, origins, legacy, "rules_file",
                 "deprecated key (singular form); read as rules_files", "rename it to rules_files");
  w.warning = true;
  cfg.warnings.push_back(std::move(w));
  root["rules_files"] = YAML::Clone(legacy);
  root.remove("rules_file");
  return std::nullopt;
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  collect_keys(schema(), "", out);
  return out;
}

Expected<Config, ConfigError> parse_config(const std::string& yaml_text,
                                           const std::string& file_name,
                                           const std::vector<std::string>& overrides, bool strict) {
  Origins origins;
  origins.file = file_name;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    ConfigError err;
    err.code = ConfigErrorCode::Syntax;
    err.file = file_name;
    err.line = e.mark.line + 1;
    err.column = e.mark.column + 1;
    err.message = "not valid YAML: " + e.msg;
    return Unexpected(err);
  } catch (const YAML::Exception& e) {
    ConfigError err;
    err.code = ConfigErrorCode::Syntax;
    err.file = file_name;
    err.message = std::string("not valid YAML: ") + e.what();
    return Unexpected(err);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  try {
    expand_env_vars(root);
    // Drop-ins first (an -o on config_files itself counts), then every -o,
    // so a command-line value wins over every file, as in Falco.
    std::vector<std::string> rest;
    for (const auto& o : overrides) {
      if (o.starts_with("config_files")) {
        if (auto e = detail::apply_override(root, o, origins)) return Unexpected(*e);
      } else {
        rest.push_back(o);
      }
    }
    if (auto e = detail::merge_config_files(root, origins, file_name)) return Unexpected(*e);
    for (const auto& o : rest)
      if (auto e = detail::apply_override(root, o, origins)) return Unexpected(*e);
    Config cfg;
    cfg.source = file_name;
    std::vector<ConfigError> errs;
    if (auto e = legacy_rules_file(root, origins, cfg)) return Unexpected(*e);
    walk(root, schema(), "", origins, cfg, errs);
    if (root.IsMap()) {
      const YAML::Node drops = root["syscall_event_drops"];
      cfg.syscall_event_drops.configured = drops.IsDefined() && !drops.IsNull();
    }
    if (errs.empty())
      if (auto e = check_combinations(root, origins, cfg)) errs.push_back(std::move(*e));
    if (strict) {
      for (auto& w : cfg.warnings) {
        w.warning = false;
        w.hint = (w.hint.empty() ? "" : w.hint + "; ") +
                 "--strict-config refuses Falco keys without an equivalent: remove the key";
        errs.push_back(std::move(w));
      }
      cfg.warnings.clear();
    }
    if (!errs.empty()) {
      ConfigError first = std::move(errs.front());
      first.more.assign(std::make_move_iterator(errs.begin() + 1),
                        std::make_move_iterator(errs.end()));
      // The warnings too, so a dry run lists every problem of the file.
      for (auto& w : cfg.warnings) first.more.push_back(std::move(w));
      return Unexpected(std::move(first));
    }
    if (root.IsMap())
      for (auto it = root.begin(); it != root.end(); ++it)
        if (it->first.Scalar() != "config_files")
          cfg.key_digests[it->first.Scalar()] = YAML::Dump(it->second);
    cfg.files.clear();
    if (file_name != "(defaults)") cfg.files.push_back(file_name);
    for (const auto& f : origins.merged) cfg.files.push_back(f);
    return cfg;
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on tree misuse (e.g. indexing a scalar); our checks
    // should prevent that, but the config module must not leak exceptions.
    ConfigError err;
    err.code = ConfigErrorCode::BadValue;
    err.file = file_name;
    err.message = std::string("cannot apply configuration: ") + e.what();
    return Unexpected(err);
  }
}

Expected<Config, ConfigError> load_config(const LoadOptions& opts) {
  const std::string path = opts.config_path.value_or(kDefaultConfigPath);
  std::string text;
  std::string source = path;
  struct stat st {};
  if (!opts.config_path && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    source.clear();  // no default file: built-in defaults plus overrides
  } else if (::stat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
    // `-c /dev/null`: the usual way to say "no configuration file"; the one
    // device that is read (it is empty).
  } else if (auto read = io::read_regular_file(path); !read) {
    // Not only a missing file: a FIFO or /dev/zero given with -c must be
    // refused at once, not read forever.
    ConfigError e;
    e.code = ConfigErrorCode::FileNotFound;
    e.file = path;
    e.message = "cannot read the configuration file: " + read.error();
    e.hint = opts.config_path ? "check the path given with -c" : "check " + path;
    return Unexpected(e);
  } else {
    text = std::move(*read);
  }
  auto cfg =
      parse_config(text, source.empty() ? "(defaults)" : source, opts.overrides, opts.strict);
  if (!cfg) return cfg;
  cfg->source = source;
  if (!opts.rules_paths.empty()) cfg->rules_files = opts.rules_paths;
  return cfg;
}

}  // namespace pg::user::config
