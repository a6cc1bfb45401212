// A Falco user's habits against the real daemon: Falco's stock falco.yaml
// (../shared/falco-config/, used unchanged; -o only points its outputs and
// webserver at test places) with the official stable rules; SIGUSR1 for
// logrotate; `run --dry-run` before a deployment.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");
const std::string kFalcoYaml = pg::test::falco_config_file();
const std::string kRule = "Read sensitive file untrusted";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void read_shadow() { CHECK(std::system("/bin/sh -c 'cat /etc/shadow > /dev/null'") == 0); }

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("Falco's stock falco.yaml starts Peregrine, warns once per key, and alerts" *
          PG_NEEDS_FALCO_FILES) {
  REQUIRE(std::filesystem::exists(kFalcoYaml));
  TempDir dir;
  const std::string events = dir.path + "/events.txt";
  const int port = free_port();
  Daemon d({"run", "-c", kFalcoYaml, "-r", kFalcoRules, "-o", "file_output.enabled=true", "-o",
            "file_output.filename=" + events, "-o", "webserver.listen_address=127.0.0.1", "-o",
            "webserver.listen_port=" + std::to_string(port)});
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  const std::string err = d.stderr_text();
  for (const char* key :
       {"engine", "capture", "plugins", "http_output.max_consecutive_timeouts", "log_syslog",
        "libs_logger", "output_timeout", "syscall_event_timeouts", "metrics.state_counters_enabled",
        "metrics.libbpf_stats_enabled", "metrics.plugins_metrics_enabled",
        "metrics.kernel_iter_event_counters_enabled", "base_syscalls", "falco_libs"})
    CHECK_MESSAGE(count(err, std::string("warning[unsupported-key]: ") + key + ": ") == 1, key);
  CHECK(count(err, "warning[unsupported-key]") == 14);

  read_shadow();
  // json_output is false in falco.yaml: Falco's text line on stdout, with
  // the suggested container fields appended (append_output).
  CHECK(eventually([&] {
    for (const auto& l : d.stdout_lines())
      if (l.find(": Warning Sensitive file opened for reading by non-trusted program") !=
              std::string::npos &&
          l.find("file=/etc/shadow") != std::string::npos &&
          l.find("container_id=host") != std::string::npos)
        return true;
    return false;
  }));
  CHECK(eventually([&] { return slurp(events).find("file=/etc/shadow") != std::string::npos; }));
  // The webserver answers the health check on Falco's path.
  CHECK(run_capture("curl -s http://127.0.0.1:" + std::to_string(port) + "/healthz") == "ok\n");
  // And /versions, which falcoctl reads to pick rules artifacts.
  CHECK(run_capture("curl -s http://127.0.0.1:" + std::to_string(port) + "/versions")
            .find("\"engine_version_semver\":") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE(
    "SIGUSR1 reopens the file output after logrotate moved it; detection goes on; the metrics "
    "snapshot and Falco's metric names" *
    PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string log = dir.path + "/alerts.log";
  const int port = free_port();
  Daemon d({"run",
            "-r",
            kFalcoRules,
            "-c",
            "/dev/null",
            "-o",
            "json_output=true",
            "-o",
            "file_output.enabled=true",
            "-o",
            "file_output.filename=" + log,
            "-o",
            "metrics.enabled=true",
            "-o",
            "metrics.output_rule=true",
            "-o",
            "metrics.interval=1s",
            "-o",
            "metrics.output_file=" + dir.path + "/metrics.jsonl",
            "-o",
            "webserver.enabled=true",
            "-o",
            "webserver.prometheus_metrics_enabled=true",
            "-o",
            "webserver.listen_port=" + std::to_string(port)});
  REQUIRE(d.ready());
  // Falco's output_rule: the snapshot as an internal alert, every interval.
  auto snap = d.wait_for(
      [](const Json& j) { return j.value("rule", "") == "Falco internal: metrics snapshot"; }, 10s);
  REQUIRE(snap);
  CHECK((*snap)["source"] == "internal");
  CHECK((*snap)["priority"] == "Informational");
  CHECK((*snap)["output_fields"]["falco.memory_rss_mb"].get<double>() > 1.0);
  CHECK((*snap)["output_fields"]["falco.cpu_usage_perc"].is_number());
  CHECK((*snap)["output_fields"].contains("falco.sha256_rules_file.falco_rules_yaml"));
  // metrics.output_file: the same fields as JSON lines with a sample number.
  const std::string first = slurp(dir.path + "/metrics.jsonl");
  const auto line = Json::parse(first.substr(0, first.find('\n')), nullptr, false);
  REQUIRE_MESSAGE(!line.is_discarded(), first);
  CHECK(line["sample"] == 1);
  CHECK(line["output_fields"]["falco.version"].is_string());
  const std::string metrics =
      run_capture("curl -s http://127.0.0.1:" + std::to_string(port) + "/metrics");
  CHECK(metrics.find("\nfalcosecurity_falco_memory_rss_bytes ") != std::string::npos);
  CHECK(metrics.find("\nfalcosecurity_falco_cpu_usage_ratio ") != std::string::npos);
  CHECK(metrics.find("\nperegrine_memory_vsz_bytes ") != std::string::npos);
  read_shadow();
  REQUIRE(eventually([&] { return slurp(log).find(kRule) != std::string::npos; }));
  std::filesystem::rename(log, log + ".1");
  REQUIRE(::kill(d.pid(), SIGUSR1) == 0);
  CHECK(eventually([&] { return d.stderr_text().find("SIGUSR1") != std::string::npos; }));
  read_shadow();
  CHECK(eventually([&] { return slurp(log).find(kRule) != std::string::npos; }));
  CHECK(d.running());
  CHECK(count(slurp(log + ".1"), kRule) == 1);
  CHECK(d.stop() == 0);
}

TEST_CASE("run --dry-run reports a bad rule and a bad key with their locations" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  {
    std::ofstream(dir.path + "/bad.yaml") << "- rule: Broken\n"
                                             "  desc: d\n"
                                             "  condition: evt.type = open and proc.nme = x\n"
                                             "  output: o\n"
                                             "  priority: INFO\n";
    std::ofstream(dir.path + "/cfg.yaml") << "json_output: true\n"
                                             "stdout_output:\n"
                                             "  enabeld: true\n"
                                             "log_syslog: true\n";
  }
  Daemon bad({"run", "--dry-run", "-c", dir.path + "/cfg.yaml", "-r", dir.path + "/bad.yaml"}, "");
  CHECK(bad.wait_exit() == 1);
  const std::string err = bad.stderr_text();
  CHECK_MESSAGE(err.find(dir.path + "/cfg.yaml:3:3: error[unknown-key]: stdout_output.enabeld") !=
                    std::string::npos,
                err);
  CHECK_MESSAGE(err.find(dir.path + "/bad.yaml:3:") != std::string::npos, err);
  CHECK(err.find("proc.nme") != std::string::npos);
  CHECK(err.find("warning[unsupported-key]: log_syslog") != std::string::npos);
  // Nothing was attached: no program of ours is loaded for a dry run.
  CHECK(err.find("programs attached") == std::string::npos);

  Daemon good({"--log-level", "notice", "run", "--dry-run", "-c", kFalcoYaml, "-r", kFalcoRules},
              "");
  CHECK(good.wait_exit() == 0);
  CHECK_MESSAGE(good.stderr_text().find("error[") == std::string::npos, good.stderr_text());

  // The global --log-level also after the subcommand, as messages write it.
  Daemon late({"run", "--dry-run", "--log-level", "debug", "-c", kFalcoYaml, "-r", kFalcoRules},
              "");
  CHECK(late.wait_exit() == 0);
  CHECK_MESSAGE(late.stderr_text().find("not expected") == std::string::npos, late.stderr_text());

  Daemon strict({"run", "--dry-run", "--strict-config", "-c", kFalcoYaml, "-r", kFalcoRules}, "");
  CHECK(strict.wait_exit() == 1);
  CHECK(strict.stderr_text().find("error[unsupported-key]: engine") != std::string::npos);
}

TEST_CASE(
    "the config's rules: selection holds at start; SIGHUP re-reads the config, applies the "
    "selection and names the keys that need a restart" *
    PG_NEEDS_FALCO_FILES) {
  const int port = free_port();
  TempDir dir;
  const std::string cfg = dir.path + "/peregrine.yaml";
  auto write_cfg = [&](const std::string& rules, const std::string& extra) {
    std::ofstream(cfg) << "rules: " << rules
                       << "\nmetrics:\n  enabled: true\nwebserver:\n  enabled: true\n"
                          "  prometheus_metrics_enabled: true\n  listen_port: "
                       << port << "\n"
                       << extra;
  };
  write_cfg("[{disable: {rule: 'Read sensitive*'}}, {disable: {tag: network}}]", "");
  Daemon d({"run", "-r", kFalcoRules, "-c", cfg, "--json"});
  REQUIRE(d.ready());
  // Compiled (enabled) rules are the ones with a match counter.
  auto enabled = [&](const std::string& rule) {
    return run_capture("curl -s http://127.0.0.1:" + std::to_string(port) + "/metrics")
               .find("rule_name=\"" + rule + "\"") != std::string::npos;
  };
  CHECK_FALSE(enabled(kRule));
  CHECK(enabled("Search Private Keys or Passwords"));
  CHECK_FALSE(enabled("Disallowed SSH Connection Non Standard Port"));  // tag network
  read_shadow();
  // Unchanged config: the selection is applied again by the reload.
  REQUIRE(::kill(d.pid(), SIGHUP) == 0);
  CHECK(eventually(
      [&] { return d.stderr_text().find("reloaded every policy") != std::string::npos; }));
  CHECK_FALSE(enabled(kRule));
  CHECK(enabled("Search Private Keys or Passwords"));
  read_shadow();
  std::this_thread::sleep_for(300ms);
  CHECK(d.all([](const Json& j) { return j.value("rule", "") == kRule; }).empty());
  // Changed config: the selection takes effect at once, file_output waits
  // for a restart (and is said to).
  write_cfg("[{disable: {tag: network}}]", "file_output:\n  keep_alive: false\n");
  REQUIRE(::kill(d.pid(), SIGHUP) == 0);
  CHECK(eventually([&] { return count(d.stderr_text(), "reloaded every policy") == 2; }));
  const std::string err = d.stderr_text();
  CHECK(err.find("applying the changed configuration keys: rules") != std::string::npos);
  CHECK(err.find("'file_output' changed in the configuration; it takes effect after a restart") !=
        std::string::npos);
  CHECK(enabled(kRule));
  CHECK_FALSE(enabled("Disallowed SSH Connection Non Standard Port"));
  read_shadow();
  CHECK(d.wait_for([](const Json& j) { return j.value("rule", "") == kRule; }, 10s).has_value());
  CHECK(d.stop() == 0);
}

TEST_CASE("run --support prints versions, kernel, config files and rules digests as JSON" *
          PG_NEEDS_FALCO_FILES) {
  Daemon s({"run", "--support", "-c", kFalcoYaml, "-r", kFalcoRules}, "");
  REQUIRE(s.wait_exit() == 0);
  std::string text;
  for (const auto& l : s.stdout_lines()) text += l + "\n";
  const auto j = Json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), text);
  CHECK(j["version"].is_string());
  CHECK(j["engine_info"]["engine_version"].is_string());
  CHECK(j["system_info"]["release"].is_string());
  REQUIRE(j["config_files"].size() == 1);
  CHECK(j["config_files"][0]["name"] == kFalcoYaml);
  CHECK(j["config_files"][0]["sha256"].get<std::string>().size() == 64);
  REQUIRE(j["rules_files"].size() == 1);
  CHECK(j["rules_files"][0]["sha256"] == run_capture("sha256sum " + kFalcoRules).substr(0, 64));
}
