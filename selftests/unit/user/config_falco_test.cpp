// Falco's falco.yaml as Peregrine reads it: the stock file loads, keys with
// an equivalent are honoured under Falco's names, keys without one warn
// once each (errors under --strict-config), drop-ins merge as in Falco, and
// -o mistakes name the -o argument.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "selftests/common/falco_files.h"
#include "selftests/unit/user/output_test_util.h"
#include "user/config/config.h"
#include "user/output/priority.h"
#include "user/live_policy/policy_manager.h"
#include "user/output/queue.h"

using namespace pg::user::config;
using pg::user::output::Priority;
using pg::user::output::testing::slurp;
using pg::user::output::testing::TempDir;

namespace {

const std::string kFalcoYaml = pg::test::falco_config_file();

std::set<std::string> warned_keys(const Config& c) {
  std::set<std::string> keys;
  for (const auto& w : c.warnings) {
    CHECK_MESSAGE(keys.insert(w.key).second, ("warned twice: " + w.key));
    CHECK(w.warning);
    CHECK(w.code == ConfigErrorCode::Unsupported);
    CHECK(w.line > 0);
    CHECK(w.hint.starts_with("instead: "));
  }
  return keys;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE(
    "Falco's stock falco.yaml loads, honouring its keys and warning once per key without one" *
    PG_NEEDS_FALCO_FILES) {
  if (!std::filesystem::exists(kFalcoYaml)) {
    MESSAGE("skipped: " << kFalcoYaml << " is not here");
    return;
  }
  auto r = parse_config(slurp(kFalcoYaml), "falco.yaml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  const Config& c = *r;
  CHECK(warned_keys(c) ==
        std::set<std::string>{
            "engine", "capture", "plugins", "http_output.max_consecutive_timeouts", "log_syslog",
            "libs_logger", "output_timeout", "syscall_event_timeouts",
            "metrics.state_counters_enabled", "metrics.libbpf_stats_enabled",
            "metrics.plugins_metrics_enabled", "metrics.kernel_iter_event_counters_enabled",
            "base_syscalls", "falco_libs"});
  // Honoured under Falco's names, at Falco's values.
  CHECK(c.outputs_queue.capacity == 0);
  CHECK(c.log_level == "info");
  CHECK(c.webserver.enabled);
  CHECK(c.webserver.listen_address == "0.0.0.0");
  CHECK(c.webserver.listen_port == 8765);
  CHECK(c.syslog_output.enabled);
  CHECK_FALSE(c.program_output.keep_alive);
  CHECK(c.http_output.user_agent == "falcosecurity/falco");
  CHECK(c.http_output.ca_path == "/etc/ssl/certs");
  REQUIRE(c.append_output.size() == 1);
  CHECK(c.append_output[0].suggested_output);
  CHECK(c.rules_files.size() == 3);
  CHECK(c.watch_rules_files);
  CHECK(c.syscall_event_drops.configured);
  CHECK(c.syscall_event_drops.log);
  CHECK(c.syscall_event_drops.alert);
  CHECK_FALSE(c.syscall_event_drops.exit);
  CHECK(c.metrics.interval_ms == 3'600'000);
  CHECK(c.metrics.output_rule);
  CHECK(c.json_include_output_fields_property);
  CHECK_FALSE(c.json_include_message_property);
}

TEST_CASE("--strict-config turns each warning into an error, all reported in one pass") {
  auto r = parse_config("engine:\n  kind: kmod\nlog_syslog: true\nlog_level: notice\n",
                        "falco.yaml", {}, true);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ConfigErrorCode::Unsupported);
  CHECK_FALSE(r.error().warning);
  CHECK(r.error().key == "engine");
  CHECK(r.error().line == 1);  // the section's key, not its first child
  REQUIRE(r.error().more.size() == 1);
  CHECK(r.error().more[0].key == "log_syslog");
  CHECK(r.error().to_string().find("error[unsupported-key]") != std::string::npos);
}

TEST_CASE("a key set to what Peregrine does anyway needs no warning") {
  auto r = parse_config(
      "log_stderr: true\nbuffered_outputs: false\nload_plugins: []\nhttp_output:\n  echo: false\n",
      "falco.yaml");
  REQUIRE(r);
  CHECK(r->warnings.empty());
  r = parse_config("buffered_outputs: true\n", "falco.yaml");
  REQUIRE(r);
  CHECK(warned_keys(*r) == std::set<std::string>{"buffered_outputs"});
}

TEST_CASE("every problem of a file is reported in one pass, each at its position") {
  auto r = parse_config("priorty: debug\nstdout_output:\n  enabeld: true\nlog_level: loud\n",
                        "peregrine.yaml");
  REQUIRE_FALSE(r);
  CHECK(r.error().key == "priorty");
  CHECK(r.error().line == 1);
  REQUIRE(r.error().more.size() == 2);
  CHECK(r.error().more[0].key == "stdout_output.enabeld");
  CHECK(r.error().more[0].line == 3);
  CHECK(r.error().more[1].key == "log_level");
  CHECK(r.error().more[1].line == 4);
}

TEST_CASE("log_level takes Falco's words and the short forms") {
  for (const char* w : {"emergency", "alert", "critical", "error", "warning", "notice", "info",
                        "debug", "trace", "off", "warn", "err", "crit", "emerg"}) {
    auto r = parse_config("", "(defaults)", {std::string("log_level=") + w});
    CHECK_MESSAGE(r, w);
  }
  auto bad = parse_config("", "(defaults)", {"log_level=loud"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().hint.find("notice") != std::string::npos);
}

TEST_CASE("-o mistakes name the -o argument, also for a section the -o created") {
  auto r = parse_config("priority: debug\n", "peregrine.yaml", {"webserver.bogus=1"});
  REQUIRE_FALSE(r);
  CHECK(r.error().file == "-o 'webserver.bogus=1'");
  r = parse_config("priority: debug\n", "peregrine.yaml", {"nosuchsection.key=1"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ConfigErrorCode::UnknownKey);
  CHECK(r.error().file == "-o 'nosuchsection.key=1'");
}

TEST_CASE("a key missing from a section an -o created is reported against that -o") {
  auto r = parse_config("", "/dev/null", {"file_output.enabled=true"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ConfigErrorCode::Missing);
  CHECK(r.error().file == "-o 'file_output.enabled=true'");
  // The same section written in the file is reported at its position.
  r = parse_config("file_output:\n  enabled: true\n", "peregrine.yaml");
  REQUIRE_FALSE(r);
  CHECK(r.error().file == "peregrine.yaml");
  CHECK(r.error().line == 2);
}

TEST_CASE("-o escapes a dot inside a key with a backslash") {
  auto r = parse_config("", "(defaults)", {"http_output.headers.X\\.Trace=1"});
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  REQUIRE(r->http_output.headers.size() == 1);
  CHECK(r->http_output.headers[0].first == "X.Trace");
}

TEST_CASE("outputs_queue.capacity 0 is an unbounded queue") {
  auto r = parse_config("outputs_queue:\n  capacity: 0\n", "falco.yaml");
  REQUIRE(r);
  pg::user::output::BoundedQueue<int> q(size_t(r->outputs_queue.capacity));
  for (int i = 0; i < 5000; ++i) REQUIRE(q.try_push(i));
  CHECK(q.size() == 5000);
  CHECK(q.capacity() == 0);
  for (int i = 0; i < 5000; ++i) REQUIRE(*q.pop_for(std::chrono::milliseconds(1)) == i);
  pg::user::output::BoundedQueue<int> bounded(2);
  CHECK(bounded.try_push(1));
  CHECK(bounded.try_push(2));
  CHECK_FALSE(bounded.try_push(3));
}

TEST_CASE("config_files drop-ins merge as Falco's: directory files in name order, strategies") {
  TempDir dir;
  std::filesystem::create_directory(dir / "config.d");
  write(dir / "config.d/20-b.yaml", "priority: warning\n");
  write(dir / "config.d/10-a.yaml", "rules_files: [/extra/rules.yaml]\n");
  write(dir / "over.yaml", "rules_files: [/only.yaml]\njson_output: true\n");
  write(dir / "main.yaml", "config_files:\n  - " + (dir / "config.d") +
                               "\n  - /does/not/exist\nrules_files: [/base.yaml]\n");
  LoadOptions lo;
  lo.config_path = dir / "main.yaml";
  auto r = load_config(lo);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(r->rules_files == std::vector<std::string>{"/base.yaml", "/extra/rules.yaml"});
  CHECK(r->priority == Priority::Warning);
  CHECK(r->files.size() == 3);

  lo.overrides = {"config_files[]={path: " + (dir / "over.yaml") + ", strategy: override}"};
  r = load_config(lo);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(r->rules_files == std::vector<std::string>{"/only.yaml"});
  CHECK(r->json_output);

  // A mistake inside a drop-in is reported against the drop-in.
  write(dir / "config.d/30-bad.yaml", "\npriority: loud\n");
  lo.overrides.clear();
  r = load_config(lo);
  REQUIRE_FALSE(r);
  CHECK(r.error().file == dir / "config.d/30-bad.yaml");
  CHECK(r.error().line == 2);
}

TEST_CASE("rules:, append_output and static_fields are read as Falco writes them") {
  auto r = parse_config(R"(
rules:
  - disable: {rule: "*"}
  - enable: {tag: network}
  - enable: {rule: "Read sensitive file*", tag: filesystem}
append_output:
  - match: {source: syscall, tags: [container], rule: Terminal shell in container}
    extra_output: "on CPU %evt.cpu"
    extra_fields:
      - proc.name
      - home: "${HOME}"
    suggested_output: true
static_fields:
  cluster: prod-eu
)",
                        "falco.yaml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  REQUIRE(r->rules_selection.size() == 3);
  CHECK_FALSE(r->rules_selection[0].enable);
  CHECK(r->rules_selection[0].rule == "*");
  CHECK(r->rules_selection[1].tag == "network");
  CHECK(r->rules_selection[2].rule == "Read sensitive file*");
  REQUIRE(r->append_output.size() == 1);
  const auto& a = r->append_output[0];
  CHECK(a.source == "syscall");
  CHECK(a.tags == std::vector<std::string>{"container"});
  CHECK(a.extra_output == "on CPU %evt.cpu");
  CHECK(a.raw_fields == std::vector<std::string>{"proc.name"});
  REQUIRE(a.formatted_fields.size() == 1);
  CHECK(a.formatted_fields[0].first == "home");
  CHECK(a.suggested_output);
  REQUIRE(r->static_fields.size() == 1);
  CHECK(r->static_fields[0].second == "prod-eu");

  auto bad = parse_config("rules:\n  - remove: {rule: x}\n", "falco.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().key == "rules[0].remove");
}

TEST_CASE("the config's rule selection applies by glob and tag, before runtime toggles") {
  using pg::user::control::ActivePolicy;
  pg::policy::Rule shell, net, read;
  shell.name = "Terminal shell in container";
  shell.tags = {"shell"};
  net.name = "Outbound connection";
  net.tags = {"network"};
  read.name = "Read sensitive file untrusted";
  read.tags = {"filesystem"};
  ActivePolicy p;
  p.selection = {{false, "*", false, true},
                 {true, "network", true, false},
                 {false, "Read sensitive*", true, true}};
  CHECK_FALSE(p.rule_enabled(shell));
  CHECK(p.rule_enabled(net));
  CHECK(p.rule_enabled(read));
  p.toggles = {{false, "Outbound connection", false}};
  CHECK_FALSE(p.rule_enabled(net));
}

TEST_CASE("metrics.interval takes Falco's durations") {
  auto r = parse_config("metrics:\n  interval: 1h30m\n", "falco.yaml");
  REQUIRE(r);
  CHECK(r->metrics.interval_ms == 5'400'000);
  r = parse_config("metrics:\n  interval: 15s\n", "falco.yaml");
  REQUIRE(r);
  CHECK(r->metrics.interval_ms == 15'000);
  auto bad = parse_config("metrics:\n  interval: soon\n", "falco.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().key == "metrics.interval");
}

TEST_CASE("${VAR} in config values expands as Falco's, in the main file and drop-ins") {
  ::setenv("PG_TEST_DIR", "/srv/pg", 1);
  ::setenv("PG_TEST_PRIO", "error", 1);
  ::unsetenv("PG_TEST_UNSET");
  TempDir dir;
  write(dir / "drop.yaml", "json_output: ${PG_TEST_BOOL}\n");
  ::setenv("PG_TEST_BOOL", "true", 1);
  write(dir / "main.yaml",
        "config_files: [" + (dir / "drop.yaml") +
            "]\n"
            "rules_files:\n"
            "  - ${PG_TEST_DIR}/rules.yaml\n"         // inside a longer string
            "  - \"$${PG_TEST_DIR}/literal.yaml\"\n"  // $${ } is a literal ${ }
            "  - /a${PG_TEST_UNSET}/b.yaml\n"         // unset: nothing
            "  - /cost$5/${PG_TEST_DIR}\n"            // Falco stops at another '$'
            "  - /open${PG_TEST_DIR\n"                // no '}': left as written
            "priority: ${PG_TEST_PRIO}\n");
  LoadOptions lo;
  lo.config_path = dir / "main.yaml";
  auto r = load_config(lo);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(r->rules_files == std::vector<std::string>{"/srv/pg/rules.yaml",
                                                   "${PG_TEST_DIR}/literal.yaml", "/a/b.yaml",
                                                   "/cost$5/${PG_TEST_DIR}", "/open${PG_TEST_DIR"});
  CHECK(r->priority == Priority::Error);
  CHECK(r->json_output);
  // A bad value that came from a variable is still reported at its place.
  ::setenv("PG_TEST_PRIO", "loud", 1);
  r = load_config(lo);
  REQUIRE_FALSE(r);
  CHECK(r.error().line == 8);
  CHECK(r.error().message.find("loud") != std::string::npos);
}

TEST_CASE("the deprecated rules_file key is read as rules_files, with a warning") {
  auto r = parse_config("rules_file: [/a.yaml, /b.yaml]\n", "c.yaml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
  CHECK(r->rules_files == std::vector<std::string>{"/a.yaml", "/b.yaml"});
  REQUIRE(r->warnings.size() == 1);
  CHECK(r->warnings[0].key == "rules_file");
  CHECK(r->warnings[0].line == 1);
  auto both = parse_config("rules_files: [/a.yaml]\nrules_file: /b.yaml\n", "c.yaml");
  REQUIRE_FALSE(both);
  CHECK(both.error().key == "rules_file");
  CHECK(both.error().line == 2);
}

TEST_CASE("a reloaded configuration splits its changed keys into live ones and restart ones") {
  auto a = parse_config(
      "rules_files: [/a.yaml]\npriority: warning\nfile_output: {enabled: false}\n"
      "webserver: {listen_port: 8765}\n",
      "c.yaml");
  REQUIRE(a);
  auto same = diff_config(*a, *a);
  CHECK(same.live.empty());
  CHECK(same.restart.empty());
  auto b = parse_config(
      "rules_files: [/b.yaml]\npriority: error\nfile_output: {enabled: false}\n"
      "webserver: {listen_port: 9000}\nrules: [{disable: {tag: network}}]\n",
      "c.yaml");
  REQUIRE(b);
  auto d = diff_config(*a, *b);
  CHECK(d.live == std::vector<std::string>{"priority", "rules", "rules_files"});
  CHECK(d.restart == std::vector<std::string>{"webserver"});
  // A drop-in's key counts like the main file's; a removed key is a change.
  auto c = parse_config("rules_files: [/a.yaml]\npriority: warning\n", "c.yaml");
  REQUIRE(c);
  d = diff_config(*a, *c);
  CHECK(d.live.empty());
  CHECK(d.restart == std::vector<std::string>{"file_output", "webserver"});
  CHECK(reloadable_key("append_output"));
  CHECK_FALSE(reloadable_key("http_output"));
}
