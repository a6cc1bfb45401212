// The daemon configuration: defaults, every kind of mistake reported with
// its location, -o overrides, and rules directory expansion.
#include "user/config/config.h"
#include "user/output/priority.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "selftests/unit/user/output_test_util.h"

using namespace pg::user::config;
using pg::user::output::Priority;
using pg::user::output::testing::TempDir;

namespace {
ConfigError error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto r = parse_config(yaml, "peregrine.yaml", overrides);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_CASE("an empty config file gives the documented defaults") {
  auto r = parse_config("", "peregrine.yaml");
  REQUIRE(r);
  CHECK(r->rules_files == std::vector<std::string>{"/etc/peregrine/rules.d"});
  CHECK(r->priority == Priority::Debug);
  CHECK(r->rule_matching == RuleMatching::First);
  CHECK(r->stdout_output.enabled);
  CHECK_FALSE(r->file_output.enabled);
  CHECK(r->kernel_filter);
  CHECK_FALSE(r->raw_syscall_fallback);
  CHECK(r->ring_buffer_size_mb == 8);
  CHECK(r->control_socket == "/run/peregrine/peregrine.sock");
}

TEST_CASE("a full config file is read into every field") {
  const char* yaml = R"(
rules_files: [/a.yaml, /rules.d]
priority: warning
rule_matching: all
json_output: true
json_include_output_property: false
json_include_tags_property: false
time_format_iso_8601: true
log_level: debug
outputs_queue: {capacity: 100, sink_capacity: 10}
stdout_output: {enabled: false}
file_output: {enabled: true, keep_alive: false, filename: /var/log/pg.txt}
syslog_output: {enabled: true, socket: /run/log.sock}
program_output: {enabled: true, program: "jq -c . | logger", write_timeout_ms: 50, restart_delay_ms: 5}
http_output:
  enabled: true
  url: https://127.0.0.1:2801/alerts
  headers: {Authorization: "Bearer x", X-Team: sec}
  connect_timeout_ms: 100
  timeout_ms: 200
  max_retries: 1
  retry_backoff_ms: 10
  max_backoff_ms: 20
  insecure: true
  ca_file: /ca.pem
ring_buffer_size_mb: 64
kernel_filter: false
raw_syscall_fallback: true
metrics: {enabled: true, address: 0.0.0.0, port: 9000}
k8s_audit: {enabled: true, port: 8765, path: /audit, tls_cert: /c.pem, tls_key: /k.pem, token: t}
container: {enabled: false, docker_socket: /d.sock}
control_socket: /tmp/pg.sock
)";
  auto r = parse_config(yaml, "peregrine.yaml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  const Config& c = *r;
  CHECK(c.rules_files == std::vector<std::string>{"/a.yaml", "/rules.d"});
  CHECK(c.priority == Priority::Warning);
  CHECK(c.rule_matching == RuleMatching::All);
  CHECK(c.json_output);
  CHECK_FALSE(c.json_include_output_property);
  CHECK_FALSE(c.json_include_tags_property);
  CHECK(c.time_format_iso_8601);
  CHECK(c.log_level == "debug");
  CHECK(c.outputs_queue.capacity == 100);
  CHECK(c.outputs_queue.sink_capacity == 10);
  CHECK_FALSE(c.stdout_output.enabled);
  CHECK(c.file_output.filename == "/var/log/pg.txt");
  CHECK_FALSE(c.file_output.keep_alive);
  CHECK(c.syslog_output.socket == "/run/log.sock");
  CHECK(c.program_output.program == "jq -c . | logger");
  CHECK(c.program_output.restart_delay_ms == 5);
  CHECK(c.http_output.headers == std::vector<std::pair<std::string, std::string>>{
                                     {"Authorization", "Bearer x"}, {"X-Team", "sec"}});
  CHECK(c.http_output.insecure);
  CHECK(c.http_output.max_retries == 1);
  CHECK(c.ring_buffer_size_mb == 64);
  CHECK_FALSE(c.kernel_filter);
  CHECK(c.raw_syscall_fallback);
  CHECK(c.metrics.port == 9000);
  CHECK(c.k8s_audit.path == "/audit");
  CHECK(c.container.docker_socket == "/d.sock");
  CHECK(c.control_socket == "/tmp/pg.sock");
}

TEST_CASE("an unknown key is an error at its line and column with a suggestion") {
  const auto e = error_of("priority: info\nfile_output:\n  enabeld: true\n");
  CHECK(e.code == ConfigErrorCode::UnknownKey);
  CHECK(e.file == "peregrine.yaml");
  CHECK(e.line == 3);
  CHECK(e.column == 3);
  CHECK(e.key == "file_output.enabeld");
  CHECK(e.hint.find("did you mean 'enabled'") != std::string::npos);
  CHECK(e.to_string().rfind("peregrine.yaml:3:3: error[unknown-key]: file_output.enabeld", 0) == 0);
}

TEST_CASE("an unknown top-level key suggests the nearest known key") {
  const auto e = error_of("json_outptu: true\n");
  CHECK(e.code == ConfigErrorCode::UnknownKey);
  CHECK(e.line == 1);
  CHECK(e.hint.find("'json_output'") != std::string::npos);
  const auto far = error_of("completely_different: 1\n");
  CHECK(far.hint.find("did you mean") == std::string::npos);
}

TEST_CASE("a wrong type names the key, the value and its position") {
  const auto e = error_of("stdout_output:\n  enabled: maybe\n");
  CHECK(e.code == ConfigErrorCode::WrongType);
  CHECK(e.key == "stdout_output.enabled");
  CHECK(e.line == 2);
  CHECK(e.column == 12);
  CHECK(e.message.find("'maybe'") != std::string::npos);
  const auto list = error_of("http_output:\n  timeout_ms: [1]\n");
  CHECK(list.code == ConfigErrorCode::WrongType);
  CHECK(list.message.find("a list") != std::string::npos);
  const auto section = error_of("file_output: yes\n");
  CHECK(section.code == ConfigErrorCode::WrongType);
  CHECK(section.key == "file_output");
}

TEST_CASE("a number out of range says the allowed range") {
  const auto e = error_of("metrics:\n  port: 70000\n");
  CHECK(e.code == ConfigErrorCode::OutOfRange);
  CHECK(e.line == 2);
  CHECK(e.hint.find("1 to 65535") != std::string::npos);
  const auto pow2 = error_of("ring_buffer_size_mb: 12\n");
  CHECK(pow2.code == ConfigErrorCode::BadValue);
  CHECK(pow2.line == 1);
  CHECK(pow2.message.find("power of two") != std::string::npos);
}

TEST_CASE("an unaccepted choice lists the accepted ones") {
  const auto e = error_of("rule_matching: some\n");
  CHECK(e.code == ConfigErrorCode::BadValue);
  CHECK(e.hint.find("first, all") != std::string::npos);
  const auto p = error_of("priority: severe\n");
  CHECK(p.key == "priority");
  CHECK(p.hint.find("warning") != std::string::npos);
}

TEST_CASE("an enabled output missing its required key is reported") {
  auto e = error_of("file_output:\n  enabled: true\n");
  CHECK(e.code == ConfigErrorCode::Missing);
  CHECK(e.key == "file_output.filename");
  CHECK(e.line == 2);
  e = error_of("program_output: {enabled: true}\n");
  CHECK(e.key == "program_output.program");
  e = error_of("http_output: {enabled: true, url: ftp://x}\n");
  CHECK(e.code == ConfigErrorCode::BadValue);
  CHECK(e.key == "http_output.url");
  e = error_of("k8s_audit: {tls_cert: /c.pem}\n");
  CHECK(e.key == "k8s_audit.tls_key");
}

TEST_CASE("invalid YAML reports the parser's position") {
  const auto e = error_of("priority: [unclosed\n");
  CHECK(e.code == ConfigErrorCode::Syntax);
  CHECK(e.line >= 1);
  CHECK(e.to_string().find("not valid YAML") != std::string::npos);
}

TEST_CASE("a key given twice is an error") {
  const auto e = error_of("json_output: true\njson_output: false\n");
  CHECK(e.line == 2);
  CHECK(e.message.find("twice") != std::string::npos);
}

TEST_CASE("bad HTTP header names and multi-line values are rejected") {
  CHECK(error_of("http_output:\n  headers: {\"Bad Name\": x}\n").key ==
        "http_output.headers.Bad Name");
  CHECK(error_of("http_output:\n  headers: {X-A: \"a\\nb\"}\n").code == ConfigErrorCode::WrongType);
}

TEST_CASE("-o overrides values from the file and creates missing sections") {
  auto r = parse_config("file_output:\n  enabled: false\n  filename: /x\n", "peregrine.yaml",
                        {"file_output.enabled=true", "http_output.headers.X-Token=abc",
                         "priority=error", "program_output.program=jq '{text: .output}'"});
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(r->file_output.enabled);
  CHECK(r->file_output.filename == "/x");
  CHECK(r->http_output.headers.size() == 1);
  CHECK(r->priority == Priority::Error);
  CHECK(r->program_output.program == "jq '{text: .output}'");
}

TEST_CASE("-o can replace a list, replace an element, or append to it") {
  auto r = parse_config("rules_files: [/a, /b]\n", "f", {"rules_files[1]=/B", "rules_files[]=/c"});
  REQUIRE(r);
  CHECK(r->rules_files == std::vector<std::string>{"/a", "/B", "/c"});
  r = parse_config("rules_files: [/a]\n", "f", {"rules_files=[/x, /y]"});
  REQUIRE(r);
  CHECK(r->rules_files == std::vector<std::string>{"/x", "/y"});
  r = parse_config("", "f", {"rules_files[]=/only"});
  REQUIRE(r);
  CHECK(r->rules_files == std::vector<std::string>{"/only"});
}

TEST_CASE("-o values are validated like file values and errors name the argument") {
  auto e = error_of("", {"stdout_output.enabled=perhaps"});
  CHECK(e.code == ConfigErrorCode::WrongType);
  CHECK(e.file == "-o 'stdout_output.enabled=perhaps'");
  CHECK(e.line == 0);
  e = error_of("", {"stdout_output.enabeld=true"});
  CHECK(e.code == ConfigErrorCode::UnknownKey);
  CHECK(e.file.starts_with("-o "));
  CHECK(e.hint.find("'enabled'") != std::string::npos);
}

TEST_CASE("malformed -o arguments are rejected with the expected form") {
  CHECK(error_of("", {"no_equals_sign"}).code == ConfigErrorCode::BadOverride);
  CHECK(error_of("", {"=value"}).code == ConfigErrorCode::BadOverride);
  CHECK(error_of("", {"a..b=1"}).code == ConfigErrorCode::BadOverride);
  CHECK(error_of("rules_files: [/a]\n", {"rules_files[5]=/x"}).code ==
        ConfigErrorCode::BadOverride);
  CHECK(error_of("priority: info\n", {"priority.x=1"}).code == ConfigErrorCode::BadOverride);
  CHECK(error_of("", {"rules_files[x]=1"}).hint.find("-o key.path=value") != std::string::npos);
}

TEST_CASE("a missing default config file means defaults; a missing -c file is an error") {
  TempDir dir;
  LoadOptions explicit_missing;
  explicit_missing.config_path = dir / "nope.yaml";
  auto r = load_config(explicit_missing);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ConfigErrorCode::FileNotFound);
  CHECK(r.error().file == dir / "nope.yaml");

  const auto path = dir / "pg.yaml";
  std::ofstream(path) << "priority: notice\nrules_files: [/from/config]\n";
  LoadOptions given;
  given.config_path = path;
  given.overrides = {"json_output=true"};
  given.rules_paths = {"/from/cli"};
  r = load_config(given);
  REQUIRE(r);
  CHECK(r->source == path);
  CHECK(r->priority == Priority::Notice);
  CHECK(r->json_output);
  CHECK(r->rules_files == std::vector<std::string>{"/from/cli"});  // -r replaces the file's list
}

TEST_CASE("rules paths expand directories to their yaml files in name order") {
  TempDir dir;
  std::filesystem::create_directory(dir / "rules.d");
  for (const char* f : {"20-b.yaml", "10-a.yaml", "30-c.yml", "notes.txt", "00-z.yaml.bak"})
    std::ofstream(dir / (std::string("rules.d/") + f)) << "[]\n";
  std::filesystem::create_directory(dir / "rules.d/sub.yaml");  // a directory, not a file
  std::ofstream(dir / "main.yaml") << "[]\n";
  auto r = expand_rules_paths({dir / "main.yaml", dir / "rules.d", dir / "main.yaml"});
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{dir / "main.yaml", dir / "rules.d/10-a.yaml",
                                       dir / "rules.d/20-b.yaml", dir / "rules.d/30-c.yml"});
  auto missing = expand_rules_paths({dir / "absent.yaml"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ConfigErrorCode::FileNotFound);
  CHECK(missing.error().file == dir / "absent.yaml");
}

namespace {
std::string repo_file(const std::string& rel) {
  // __FILE__ is relative to the repository root in our builds.
  std::string here = __FILE__;
  const auto cut = here.rfind("selftests/unit/user/");
  return (cut == std::string::npos ? std::string() : here.substr(0, cut)) + rel;
}
}  // namespace

TEST_CASE("the shipped example configuration is valid") {
  LoadOptions opts;
  opts.config_path = repo_file("scripts/peregrine.yaml");
  auto r = load_config(opts);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
}

TEST_CASE("every configuration key is documented in docs/configuration.md") {
  const auto doc = pg::user::output::testing::slurp(repo_file("docs/configuration.md"));
  REQUIRE_FALSE(doc.empty());
  for (const auto& key : config_keys())
    CHECK_MESSAGE(doc.find("`" + key + "`") != std::string::npos, key);
}
