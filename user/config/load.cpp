// Reading and validating the daemon configuration. The schema below is the
// single list of accepted keys: anything else is an error with its position
// and the nearest known key, so a typo never silently means "default".
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "user/config/detail.h"

namespace pg::user::config {
namespace {

using detail::make_error;
using detail::Origins;
using Err = std::optional<ConfigError>;
using Apply =
    std::function<Err(const YAML::Node&, const std::string& key, const Origins&, Config&)>;

struct KeySpec {
  KeySpec(std::string_view n, Apply a) : name(n), apply(std::move(a)) {}
  KeySpec(std::string_view n, std::vector<KeySpec> c) : name(n), children(std::move(c)) {}
  std::string_view name;
  Apply apply;                    // for a value
  std::vector<KeySpec> children;  // for a section
};

std::string describe(const YAML::Node& n) {
  if (n.IsNull()) return "nothing (null)";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "'" + n.Scalar() + "'";
}

template <class Get>
KeySpec boolean(std::string_view name, Get get) {
  return {name,
          [get](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            bool v = false;
            if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
              return make_error(ConfigErrorCode::WrongType, o, n, key,
                                "expected true or false, got " + describe(n));
            get(c) = v;
            return std::nullopt;
          }};
}

template <class Get>
KeySpec integer(std::string_view name, Get get, long long min, long long max,
                const std::string& unit = {}) {
  return {
      name, [=](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
        long long v = 0;
        if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v))
          return make_error(ConfigErrorCode::WrongType, o, n, key,
                            "expected a whole number" + (unit.empty() ? "" : " of " + unit) +
                                ", got " + describe(n));
        if (v < min || v > max)
          return make_error(
              ConfigErrorCode::OutOfRange, o, n, key, fmt::format("{} is out of range", v),
              fmt::format("use a value from {} to {}{}", min, max, unit.empty() ? "" : " " + unit));
        get(c) = static_cast<int>(v);
        return std::nullopt;
      }};
}

// Strings accept any scalar (a numeric-looking path is still a path); an
// empty value (`key:`) means "".
template <class Get>
KeySpec string(std::string_view name, Get get) {
  return {name,
          [get](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            if (n.IsNull()) {
              get(c).clear();
              return std::nullopt;
            }
            if (!n.IsScalar())
              return make_error(ConfigErrorCode::WrongType, o, n, key,
                                "expected a text value, got " + describe(n));
            get(c) = n.Scalar();
            return std::nullopt;
          }};
}

template <class Get, class Parse>
KeySpec choice(std::string_view name, Get get, Parse parse, const std::string& allowed) {
  return {name,
          [=](const YAML::Node& n, const std::string& key, const Origins& o, Config& c) -> Err {
            if (n.IsScalar())
              if (auto v = parse(n.Scalar())) {
                get(c) = *v;
                return std::nullopt;
              }
            return make_error(ConfigErrorCode::BadValue, o, n, key,
                              describe(n) + " is not an accepted value", "use one of: " + allowed);
          }};
}

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

std::optional<std::string> parse_log_level(const std::string& s) {
  for (const char* l : {"trace", "debug", "info", "warning", "error", "critical", "off"})
    if (s == l) return s;
  return std::nullopt;
}

KeySpec section(std::string_view name, std::vector<KeySpec> children) {
  return {name, std::move(children)};
}

#define FIELD(expr) \
  [](Config & c) -> auto& { return c.expr; }

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> s = {
      {"rules_files", [](const YAML::Node& n, const std::string& k, const Origins& o,
                         Config& c) { return string_list(n, k, o, c.rules_files); }},
      choice(
          "priority", FIELD(priority),
          [](const std::string& v) { return output::parse_priority(v); },
          "emergency, alert, critical, error, warning, notice, informational, debug"),
      choice("rule_matching", FIELD(rule_matching), parse_rule_matching, "first, all"),
      boolean("json_output", FIELD(json_output)),
      boolean("json_include_output_property", FIELD(json_include_output_property)),
      boolean("json_include_tags_property", FIELD(json_include_tags_property)),
      boolean("time_format_iso_8601", FIELD(time_format_iso_8601)),
      choice("log_level", FIELD(log_level), parse_log_level,
             "trace, debug, info, warning, error, critical, off"),
      section(
          "outputs_queue",
          {
              integer("capacity", FIELD(outputs_queue.capacity), 1, 1 << 24, "alerts"),
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
                  string("ca_path", FIELD(http_output.ca_path)),
              }),
      integer("ring_buffer_size_mb", FIELD(ring_buffer_size_mb), 1, 1024, "MiB (a power of two)"),
      boolean("kernel_filter", FIELD(kernel_filter)),
      boolean("raw_syscall_fallback", FIELD(raw_syscall_fallback)),
      section("metrics",
              {
                  boolean("enabled", FIELD(metrics.enabled)),
                  string("address", FIELD(metrics.address)),
                  integer("port", FIELD(metrics.port), 1, 65535),
              }),
      section("k8s_audit",
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
              }),
      section("container",
              {
                  boolean("enabled", FIELD(container.enabled)),
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

Err walk(const YAML::Node& map, const std::vector<KeySpec>& specs, const std::string& prefix,
         const Origins& o, Config& c) {
  if (!map.IsMap())
    return make_error(ConfigErrorCode::WrongType, o, map, prefix,
                      "expected a map of keys, got " + describe(map));
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second)
      return make_error(ConfigErrorCode::BadValue, o, it->first, key, "key given twice",
                        "keep one of the two");
    const auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const KeySpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      std::vector<std::string_view> names;
      for (const auto& s : specs) names.push_back(s.name);
      auto guess = detail::did_you_mean(name, names);
      return make_error(
          ConfigErrorCode::UnknownKey, o, it->first, key, "unknown key",
          guess ? "did you mean '" + *guess + "'?"
                : "see docs/configuration.md for the keys " +
                      (prefix.empty() ? std::string("at the top level") : "under " + prefix));
    }
    if (!spec->children.empty()) {
      if (it->second.IsNull()) continue;  // an empty section keeps its defaults
      if (auto e = walk(it->second, spec->children, key, o, c)) return e;
    } else if (auto e = spec->apply(it->second, key, o, c)) {
      return e;
    }
  }
  return std::nullopt;
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
  if (c.k8s_audit.tls_cert.empty() != c.k8s_audit.tls_key.empty())
    return make_error(ConfigErrorCode::Missing, o, at("k8s_audit"),
                      c.k8s_audit.tls_cert.empty() ? "k8s_audit.tls_cert" : "k8s_audit.tls_key",
                      "TLS needs both a certificate and its key",
                      "set both tls_cert and tls_key, or neither");
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

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  collect_keys(schema(), "", out);
  return out;
}

Expected<Config, ConfigError> parse_config(const std::string& yaml_text,
                                           const std::string& file_name,
                                           const std::vector<std::string>& overrides) {
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
    for (const auto& o : overrides)
      if (auto e = detail::apply_override(root, o, origins)) return Unexpected(*e);
    Config cfg;
    cfg.source = file_name;
    if (auto e = walk(root, schema(), "", origins, cfg)) return Unexpected(*e);
    if (auto e = check_combinations(root, origins, cfg)) return Unexpected(*e);
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
  std::ifstream in(path);
  std::string text;
  std::string source = path;
  if (!in) {
    if (opts.config_path) {
      ConfigError e;
      e.code = ConfigErrorCode::FileNotFound;
      e.file = path;
      e.message = std::string("cannot read the configuration file: ") + std::strerror(errno);
      e.hint = "check the path given with -c";
      return Unexpected(e);
    }
    source.clear();  // no default file: built-in defaults plus overrides
  } else {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto cfg = parse_config(text, source.empty() ? "(defaults)" : source, opts.overrides);
  if (!cfg) return cfg;
  cfg->source = source;
  if (!opts.rules_paths.empty()) cfg->rules_files = opts.rules_paths;
  return cfg;
}

}  // namespace pg::user::config
