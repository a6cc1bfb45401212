// The daemon configuration: /etc/peregrine/peregrine.yaml (or -c FILE), with
// -o key.path=value overrides applied to the YAML tree before validation.
// Every key is documented in docs/configuration.md; scripts/peregrine.yaml
// is the annotated example.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/expected.h"
#include "policy/priority.h"

namespace pg::user::config {

inline constexpr const char* kDefaultConfigPath = "/etc/peregrine/peregrine.yaml";

enum class ConfigErrorCode {
  FileNotFound,  // -c FILE or a rules path does not exist / cannot be read
  Syntax,        // not valid YAML
  UnknownKey,    // a key the schema does not know (typo?)
  WrongType,     // e.g. a list where a boolean belongs
  OutOfRange,    // a number outside its allowed range
  BadValue,      // a value of the right type that is not allowed
  Missing,       // an enabled section lacks a required key
  BadOverride,   // a -o argument that is not key.path=value
  Unsupported,   // a Falco key Peregrine has no equivalent for (a warning)
};

std::string_view error_code_name(ConfigErrorCode code);  // "unknown-key", …

struct ConfigError {
  ConfigErrorCode code = ConfigErrorCode::BadValue;
  std::string file;  // the config file, "-o" for an override, "" when none
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string key;   // dotted path: "http_output.timeout_ms"
  std::string message;
  std::string hint;  // how to fix it; may be empty
  bool warning = false;
  // Further problems found in the same pass (the first is this one).
  std::vector<ConfigError> more;

  // "peregrine.yaml:12:3: error[unknown-key]: file_output.enabeld: unknown
  // key; did you mean 'enabled'?"
  std::string to_string() const;
};

enum class RuleMatching { First, All };

struct StdoutOutput {
  bool enabled = true;
};

struct FileOutput {
  bool enabled = false;
  bool keep_alive = true;
  std::string filename;
};

struct SyslogOutput {
  bool enabled = false;
  std::string socket = "/dev/log";
};

struct ProgramOutput {
  bool enabled = false;
  // true: one long-running program reads every alert on its stdin; false
  // (Falco's default): one program per alert, as in `jq … | curl -d @-`.
  bool keep_alive = true;
  std::string program;
  int write_timeout_ms = 2000;
  int restart_delay_ms = 1000;
};

struct HttpOutput {
  bool enabled = false;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  int connect_timeout_ms = 2000;
  int timeout_ms = 5000;
  int max_retries = 3;
  int retry_backoff_ms = 200;
  int max_backoff_ms = 5000;
  bool insecure = false;  // skip TLS certificate verification
  std::string ca_file;    // Falco's ca_cert
  std::string ca_bundle;  // a second CA file, loaded in addition
  std::string ca_path;
  std::string user_agent = "peregrine";  // a User-Agent in `headers` wins
  bool mtls = false;                     // present client_cert / client_key
  std::string client_cert;
  std::string client_key;
  bool compress_uploads = false;  // gzip the body (Content-Encoding: gzip)
  bool keep_alive = true;         // reuse one connection between alerts
};

struct OutputsQueue {
  int capacity = 8192;                 // the queue every alert enters
  int sink_capacity = 1024;            // each output's own queue
  int lost_alert_interval_ms = 10000;  // internal "alerts lost" alert at most this often; 0: never
};

struct Metrics {
  bool enabled = false;
  // Peregrine's own /metrics listener; used unless the webserver serves
  // metrics (webserver.prometheus_metrics_enabled).
  std::string address = "127.0.0.1";
  int port = 9376;
  // Falco's periodic snapshot: every `interval_ms`, as an internal alert
  // (output_rule) and/or a JSON line appended to output_file.
  std::int64_t interval_ms = 3'600'000;
  bool output_rule = false;
  std::string output_file;
  bool rules_counters_enabled = true;
  bool resource_utilization_enabled = true;
  bool kernel_event_counters_enabled = true;
  bool convert_memory_to_mb = true;
  bool include_empty_values = false;
};

// Falco's webserver: /healthz and /versions (always, when enabled) and
// /metrics (when prometheus_metrics_enabled and metrics.enabled).
struct Webserver {
  bool enabled = false;
  std::string listen_address = "127.0.0.1";
  int listen_port = 8765;
  std::string k8s_healthz_endpoint = "/healthz";
  bool prometheus_metrics_enabled = false;
  bool ssl_enabled = false;  // HTTPS with ssl_certificate (certificate and key in one PEM)
  std::string ssl_certificate = "/etc/peregrine/peregrine.pem";
};

// Falco's syscall_event_drops: what to do when events are lost.
struct SyscallEventDrops {
  bool configured = false;  // the section was given; otherwise Peregrine's own policy
  double threshold = 0.1;   // act when lost / (seen + lost) in a second exceeds this
  bool log = true;
  bool alert = true;
  bool exit = false;
  double rate = 0.03333;  // alerts per second (token bucket)
  int max_burst = 1;
};

// One `rules:` entry: enable or disable rules by name glob and/or tag.
struct RuleSelector {
  bool enable = false;
  std::string rule;  // glob (`*`, `?`); empty: any rule
  std::string tag;   // exact tag; empty: any tag
};

// One `append_output:` entry.
struct AppendOutput {
  std::string source;             // match: event source; empty: any
  std::string rule;               // match: rule name; empty: any
  std::vector<std::string> tags;  // match: the rule has all of these
  std::string extra_output;       // appended to the text output (may hold %fields)
  std::vector<std::pair<std::string, std::string>> formatted_fields;  // name → format
  std::vector<std::string> raw_fields;                                // field names
  bool suggested_output = false;  // container/pod identity in text and output_fields
};

struct K8sAudit {
  bool enabled = false;
  std::string address = "127.0.0.1";  // another address needs a token
  int port = 9765;
  std::string path = "/k8s-audit";
  std::string tls_cert;
  std::string tls_key;
  std::string token;               // bearer token the API server must send; empty: none
  std::string file;                // read audit events from this file or directory instead
  int max_request_mb = 16;         // larger webhook requests are refused (413)
  int header_timeout_ms = 10'000;  // a request head must arrive within this (408)
  int body_timeout_ms = 30'000;    // and its body within this after the head (408)
  int max_connections = 64;        // more open connections are answered 503
};

// One runtime engine as Falco's container plugin configures it
// (`engines: {containerd: {enabled: true, sockets: [...]}}`).
struct ContainerEngine {
  bool enabled = true;
  bool sockets_set = false;  // `sockets` given: it replaces the single-socket key
  std::vector<std::string> sockets;
};

struct Container {
  bool enabled = true;
  std::string docker_socket = "/var/run/docker.sock";
  std::string containerd_socket = "/run/containerd/containerd.sock";
  std::string crio_socket = "/run/crio/crio.sock";
  std::string podman_socket = "/run/podman/podman.sock";
  ContainerEngine docker_engine, podman_engine, containerd_engine, cri_engine;
  // containerd namespaces asked (and whose /<namespace>/<id> cgroups are containers)
  std::vector<std::string> containerd_namespaces = {"k8s.io", "default"};
  // With no socket that knows a container: what the runtime left on disk.
  bool disk_metadata = true;
  std::vector<std::string> runc_state_dirs = {"/run/runc", "/run/containerd/runc"};
  std::string containers_storage = "/var/lib/containers/storage";
  int hold_ms = 1000;             // longest an event waits for a new container's metadata
  int request_timeout_ms = 2000;  // one request to a runtime socket
  int cache_ttl_s = 300;          // refresh cached metadata this old
  // Added to the output_fields of alerts for events in containers, as Falco
  // does, when the rule's output does not name them already.
  std::vector<std::string> alert_fields = {
      "container.id",        "container.name", "container.image.repository",
      "container.image.tag", "k8s.pod.name",   "k8s.ns.name"};
};

struct Config {
  std::string source;  // the file it was read from, "" for built-in defaults
  std::vector<std::string> rules_files = {"/etc/peregrine/rules.d"};
  policy::Priority priority = policy::Priority::Debug;
  RuleMatching rule_matching = RuleMatching::First;
  bool json_output = false;
  bool json_include_output_property = true;
  bool json_include_tags_property = true;
  bool json_include_message_property = false;
  bool json_include_output_fields_property = true;
  bool time_format_iso_8601 = false;
  std::string log_level = "info";  // Falco's words (see user/log_level.h)
  OutputsQueue outputs_queue;
  StdoutOutput stdout_output;
  FileOutput file_output;
  SyslogOutput syslog_output;
  ProgramOutput program_output;
  HttpOutput http_output;
  int ring_buffer_size_mb = 8;
  bool kernel_filter = true;
  // Catch syscalls this kernel has no tracepoint for (init_module without
  // module support) on the raw sys_exit tracepoint: costs every syscall.
  bool raw_syscall_fallback = false;
  Metrics metrics;
  Webserver webserver;
  SyscallEventDrops syscall_event_drops;
  std::vector<RuleSelector> rules_selection;  // `rules:`, applied in order
  std::vector<AppendOutput> append_output;
  std::vector<std::pair<std::string, std::string>> static_fields;
  K8sAudit k8s_audit;
  Container container;
  std::string control_socket = "/run/peregrine/peregrine.sock";  // "": no control socket
  bool watch_rules_files = false;  // reload a policy when one of its files changes

  std::vector<std::string> files;  // the config file and the drop-ins merged into it
  // Each top-level key as finally set (file, drop-ins, -o), as YAML text:
  // what a reload compares to tell which keys changed.
  std::map<std::string, std::string> key_digests;
  std::vector<ConfigError> warnings;  // Falco keys without an equivalent, once each
};

struct LoadOptions {
  // -c FILE. Unset: kDefaultConfigPath, whose absence is fine (defaults
  // apply); an explicitly given file must exist.
  std::optional<std::string> config_path;
  std::vector<std::string> overrides;    // -o key.path=value, applied in order
  std::vector<std::string> rules_paths;  // -r FILE|DIR; when given, replaces rules_files
  bool strict = false;                   // --strict-config: warnings are errors
};

Expected<Config, ConfigError> load_config(const LoadOptions& opts);

// A configuration re-read on SIGHUP against the running one (reload.cpp):
// the top-level keys that changed, split into those applied at once and
// those that need a restart.
struct ConfigChange {
  std::vector<std::string> live;
  std::vector<std::string> restart;
};
ConfigChange diff_config(const Config& running, const Config& next);
bool reloadable_key(std::string_view key);

// The same from text already in memory; `file_name` is used in errors.
Expected<Config, ConfigError> parse_config(const std::string& yaml_text,
                                           const std::string& file_name,
                                           const std::vector<std::string>& overrides = {},
                                           bool strict = false);

// Every accepted key as a dotted path ("http_output.timeout_ms"), in schema
// order; for docs checks and shell completion.
std::vector<std::string> config_keys();

// Rules files in load order: a file stands for itself; a directory for its
// *.yaml and *.yml files (not recursive) sorted by name; a directory with
// a `..data` symlink (a Kubernetes ConfigMap volume) for those of the
// directory `..data` points to, resolved once. A path given twice loads
// once. A missing path is an error.
Expected<std::vector<std::string>, ConfigError> expand_rules_paths(
    const std::vector<std::string>& paths);

}  // namespace pg::user::config
