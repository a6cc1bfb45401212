// The live policy manager end to end: the real daemon, its real control
// socket, the real CLI, real file opens, and a real unprivileged user.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.h"
#include "user/output/httplib_config.h"

using namespace pg::e2e;

namespace {

struct CliResult {
  int rc = -1;
  std::string out, err;
};

// Run `peregrine ARGS` (a shell word list) and collect its exit code and output.
CliResult cli(const std::string& args) {
  TempDir t;
  const std::string err_file = t.path + "/err";
  CliResult r;
  r.out = run_capture(peregrine_bin() + " " + args + " 2>" + err_file + "; echo \"#rc=$?\"");
  auto pos = r.out.rfind("#rc=");
  if (pos != std::string::npos) {
    r.rc = std::stoi(r.out.substr(pos + 4));
    r.out.resize(pos);
  }
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A rule that fires on an openat of a path with this prefix.
std::string rule(const std::string& name, const std::string& prefix) {
  return "- rule: " + name + "\n  desc: test rule\n  condition: >\n    evt.type = openat and " +
         "fd.name startswith \"" + prefix + "\"\n  output: \"" + name +
         " %fd.name\"\n  priority: WARNING\n  tags: [pgtest]\n";
}

void touch(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
}
void open_read(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd >= 0) close(fd);
}

auto alert_for(const std::string& rule_name) {
  return [rule_name](const Json& j) { return j.value("rule", "") == rule_name; };
}

// A daemon with a base policy ("Marker" on DIR/marker) and its own socket.
struct Setup {
  TempDir dir;
  std::string sock = dir.path + "/ctl.sock";
  std::string base = dir.path + "/base.yaml";
  std::string S() const { return " --socket " + sock; }
  Setup() { write_file(base, rule("Marker", dir.path + "/marker")); }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"run", "-c",     "/dev/null", "-r",
                                  base,  "--json", "-o",        "control_socket=" + sock};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

// The BPF programs and maps the daemon `pid` holds (ids from its fdinfo),
// each confirmed by bpftool, as "prog:ID:TAG" / "map:ID:NAME".
std::set<std::string> bpf_objects_of(pid_t pid) {
  std::set<std::string> prog_ids, map_ids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("prog_id:"))
        prog_ids.insert(line.substr(line.find_first_not_of(" \t", 8)));
      if (line.starts_with("map_id:"))
        map_ids.insert(line.substr(line.find_first_not_of(" \t", 7)));
    }
  }
  std::set<std::string> out;
  Json progs = Json::parse(run_capture("bpftool prog show --json 2>/dev/null"), nullptr, false);
  for (const auto& p : progs.is_array() ? progs : Json::array())
    if (prog_ids.count(std::to_string(p.value("id", 0))))
      out.insert("prog:" + std::to_string(p.value("id", 0)) + ":" + p.value("tag", ""));
  Json maps = Json::parse(run_capture("bpftool map show --json 2>/dev/null"), nullptr, false);
  for (const auto& m : maps.is_array() ? maps : Json::array())
    if (map_ids.count(std::to_string(m.value("id", 0))))
      out.insert("map:" + std::to_string(m.value("id", 0)) + ":" + m.value("name", ""));
  return out;
}

// Contents of the daemon's kernel filter tables (its own maps, by id, so a
// concurrent daemon's pins cannot interfere), as bpftool dumps them.
std::string filter_tables_of(const std::set<std::string>& objects) {
  static const std::set<std::string> tables = {"pg_fctl", "pg_fkind", "pg_fmask", "pg_fenum",
                                               "pg_fstr", "pg_fnum",  "pg_fpath"};
  std::string out;
  for (const auto& o : objects) {
    if (!o.starts_with("map:")) continue;
    auto colon = o.find(':', 4);
    if (!tables.count(o.substr(colon + 1))) continue;
    out += o + "\n" + run_capture("bpftool map dump id " + o.substr(4, colon - 4) + " 2>&1");
  }
  return out;
}

int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE(
    "200 triggers during 10 policy loads and reloads all alert; after unload the rule is silent") {
  Setup s;
  const std::string trig_prefix = s.dir.path + "/trigger-";
  const std::string trig = s.dir.path + "/trig.yaml", other1 = s.dir.path + "/other1.yaml",
                    other2 = s.dir.path + "/other2.yaml";
  write_file(trig, rule("Trigger", trig_prefix));
  write_file(other1, rule("Other one", s.dir.path + "/other-a"));
  write_file(other2, rule("Other two", s.dir.path + "/other-b"));
  for (int i = 0; i <= 200; ++i) touch(trig_prefix + std::to_string(i));

  Daemon d(s.args());
  REQUIRE(d.ready());
  auto load = cli("policy load trigger " + trig + s.S());
  REQUIRE_MESSAGE(load.rc == 0, load.err);
  CHECK(load.out.find("policy 'trigger' loaded") != std::string::npos);

  // Ten changes while the rule fires: the trigger's own policy replaced
  // and reloaded, and another policy loaded under one name with new files.
  std::atomic<int> changes_ok{0}, changes_done{0};
  std::vector<std::string> failures;
  std::thread changer([&] {
    for (int i = 0; i < 10; ++i) {
      std::string cmd = i % 3 == 0   ? "policy load trigger " + trig
                        : i % 3 == 1 ? "policy load other " + (i % 2 ? other1 : other2)
                                     : "policy reload trigger";
      auto r = cli(cmd + s.S());
      if (r.rc == 0)
        ++changes_ok;
      else
        failures.push_back(cmd + ": " + r.err);
      ++changes_done;
    }
  });
  int done_at_first = -1;
  for (int i = 0; i < 200; ++i) {
    // The last triggers wait for the last change, so all ten fall inside
    // the loop.
    if (i == 190) eventually([&] { return changes_done.load() == 10; }, 60s);
    open_read(trig_prefix + std::to_string(i));
    if (i == 0) done_at_first = changes_done.load();
    std::this_thread::sleep_for(10ms);
  }
  changer.join();
  for (const auto& f : failures) MESSAGE(f);
  CHECK(changes_ok.load() == 10);
  CHECK(done_at_first <= 2);  // the changes ran while the rule fired

  std::set<std::string> seen;
  CHECK(eventually(
      [&] {
        seen.clear();
        for (const auto& a : d.all(alert_for("Trigger")))
          seen.insert(a["output_fields"].value("fd.name", ""));
        return seen.size() >= 200;
      },
      10s));
  for (int i = 0; i < 200; ++i) CHECK_MESSAGE(seen.count(trig_prefix + std::to_string(i)), i);

  auto list = cli("policy list --json" + s.S());
  REQUIRE(list.rc == 0);
  Json policies = Json::parse(list.out);
  std::vector<std::string> names;
  for (const auto& p : policies) names.push_back(p["name"]);
  CHECK(names == std::vector<std::string>{"default", "trigger", "other"});
  for (const auto& p : policies)
    if (p["name"] == "trigger") CHECK(p["alerts"].get<int>() >= 200);
  auto table = cli("policy list" + s.S());
  CHECK(table.out.find("NAME") != std::string::npos);
  CHECK(table.out.find(trig) != std::string::npos);

  auto unload = cli("policy unload trigger" + s.S());
  REQUIRE_MESSAGE(unload.rc == 0, unload.err);
  open_read(trig_prefix + "200");
  // Events are handled in order: once the marker's alert is out, the
  // trigger open before it has been evaluated too.
  open_read(s.dir.path + "/marker");
  REQUIRE(d.wait_for(alert_for("Marker")));
  for (const auto& a : d.all(alert_for("Trigger")))
    CHECK(a["output_fields"].value("fd.name", "") != trig_prefix + "200");
  CHECK(cli("policy show trigger" + s.S()).rc == 1);
  d.stop();
}

TEST_CASE(
    "a bad rules file in policy load is refused with file, line and column; nothing changes") {
  Setup s;
  const std::string good = s.dir.path + "/good.yaml", bad = s.dir.path + "/bad.yaml";
  write_file(good, rule("Good", s.dir.path + "/good-"));
  write_file(bad,
             "- rule: Broken\n  desc: d\n  condition: evt.type = openat and fd.nam = /x\n"
             "  output: o\n  priority: WARNING\n");
  Daemon d(s.args());
  REQUIRE(d.ready());
  REQUIRE(cli("policy load p " + good + s.S()).rc == 0);
  auto before = Json::parse(cli("status --json" + s.S()).out);
  auto list_before = Json::parse(cli("policy list --json" + s.S()).out);
  const auto bpf_before = bpf_objects_of(d.pid());
  CHECK(std::count_if(bpf_before.begin(), bpf_before.end(),
                      [](const std::string& o) { return o.starts_with("prog:"); }) > 0);
  CHECK(std::any_of(bpf_before.begin(), bpf_before.end(),
                    [](const std::string& o) { return o.ends_with(":pg_events"); }));
  const std::string tables_before = filter_tables_of(bpf_before);
  CHECK(tables_before.find("pg_fkind") != std::string::npos);

  auto r = cli("policy load p " + good + " " + bad + s.S());
  CHECK(r.rc == 1);
  CHECK(r.err.find(bad + ":3:") != std::string::npos);
  CHECK(r.err.find("error[rules-invalid]") != std::string::npos);
  auto rj = cli("policy load p " + bad + " --json" + s.S());
  CHECK(rj.rc == 1);
  Json e = Json::parse(rj.out)["error"];
  CHECK(e["code"] == "rules-invalid");
  CHECK(e["diagnostics"][0]["file"] == bad);
  CHECK(e["diagnostics"][0]["line"] == 3);
  CHECK(e["diagnostics"][0]["column"].get<int>() > 1);
  // Other refusals, each with its code.
  CHECK(cli("policy load 'bad name' " + good + s.S()).err.find("invalid-argument") !=
        std::string::npos);
  CHECK(cli("policy load q /nonexistent.yaml" + s.S()).err.find("not-found") != std::string::npos);
  CHECK(cli("policy unload nope" + s.S()).err.find("not-found") != std::string::npos);
  CHECK(cli("rules disable 'No such rule'" + s.S()).err.find("not-found") != std::string::npos);

  auto after = Json::parse(cli("status --json" + s.S()).out);
  CHECK(after["generation"] == before["generation"]);
  // Two broken files and one missing file; a bad name is not a load error.
  CHECK(after["rule_load_errors"].get<int>() == before["rule_load_errors"].get<int>() + 3);
  // Same policies, files and rules (the live kernel counters move on).
  auto without_counters = [](Json list) {
    for (auto& p : list) {
      p.erase("kernel_seen");
      p.erase("kernel_passed");
    }
    return list;
  };
  CHECK(without_counters(Json::parse(cli("policy list --json" + s.S()).out)) ==
        without_counters(list_before));
  CHECK(bpf_objects_of(d.pid()) == bpf_before);          // same programs and maps
  CHECK(filter_tables_of(bpf_before) == tables_before);  // same kernel tables
  // The check can see a change: a good load writes a new generation.
  REQUIRE(cli("policy load q " + good + s.S()).rc == 0);
  CHECK(filter_tables_of(bpf_before) != tables_before);
  open_read(s.dir.path + "/good-1");
  CHECK(d.wait_for(alert_for("Good")));
  d.stop();
}

TEST_CASE("a non-root peer is refused: by the socket's mode, and by its credentials") {
  Setup s;
  Daemon d(s.args());
  REQUIRE(d.ready());
  struct stat st {};
  REQUIRE(stat(s.sock.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  chmod(s.dir.path.c_str(), 0755);  // let nobody reach the socket file itself

  // As `nobody`: connect, send an unload, report errno or the answer.
  auto as_nobody = [&]() -> std::string {
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      strncpy(sa.sun_path, s.sock.c_str(), sizeof(sa.sun_path) - 1);
      std::string out;
      if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
        out = "errno=" + std::to_string(errno);
      } else {
        std::string req = R"({"version":1,"command":"policy.unload","args":{"name":"default"}})"
                          "\n";
        // The daemon may answer and close before reading: no SIGPIPE.
        ssize_t w = send(fd, req.data(), req.size(), MSG_NOSIGNAL);
        (void)w;
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, size_t(n));
      }
      ssize_t w = write(p[1], out.data(), out.size());
      (void)w;
      _exit(0);
    }
    close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, size_t(n));
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    return out;
  };

  CHECK(as_nobody() == "errno=" + std::to_string(EACCES));
  // Even with the file opened up by mistake, the credentials check refuses.
  chmod(s.sock.c_str(), 0666);
  std::string answer = as_nobody();
  Json j = Json::parse(answer, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), answer);
  CHECK(j["ok"] == false);
  CHECK(j["error"]["code"] == "permission-denied");

  auto status = Json::parse(cli("status --json" + s.S()).out);
  CHECK(status["control_refused"] == 1);
  CHECK(status["policies"] == 1);  // the unload did not happen
  CHECK(d.stderr_text().find("refused a connection from uid 65534") != std::string::npos);
  open_read(s.dir.path + "/marker");
  CHECK(d.wait_for(alert_for("Marker")));
  d.stop();
}

TEST_CASE("status and /metrics report the live counters; /healthz answers") {
  Setup s;
  const int port = free_port();
  Daemon d(s.args({"-o", "metrics.enabled=true", "-o", "metrics.port=" + std::to_string(port)}));
  REQUIRE(d.ready());
  open_read(s.dir.path + "/marker");
  REQUIRE(d.wait_for(alert_for("Marker")));

  httplib::Client http("127.0.0.1", port);
  // The event loop's heartbeat is published after each batch; on a busy
  // machine the first ones can lag the alert, so give it a few seconds.
  std::string health_text;
  CHECK_MESSAGE(eventually(
                    [&] {
                      auto health = http.Get("/healthz");
                      if (!health) return false;
                      health_text = std::to_string(health->status) + " " + health->body;
                      return health->status == 200 && health->body == "ok\n";
                    },
                    10s),
                health_text << d.stderr_text());
  std::string body;
  CHECK(eventually([&] {
    auto m = http.Get("/metrics");
    if (!m || m->status != 200) return false;
    CHECK(m->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
    body = m->body;
    return body.find(
               "peregrine_rule_matches_total{policy=\"default\",rule=\"Marker\","
               "priority=\"Warning\"} 1\n") != std::string::npos;
  }));
  for (const char* family :
       {"# TYPE peregrine_events_total counter", "peregrine_events_total{stage=\"decoded\"} ",
        "peregrine_events_dropped_total{stage=\"kernel\",reason=\"ring_buffer_full\"} ",
        "peregrine_output_queue_depth{queue=\"main\"} ", "peregrine_build_info{version=",
        "peregrine_rule_load_errors_total 0", "peregrine_programs_attached "})
    CHECK_MESSAGE(body.find(family) != std::string::npos, family);
  // A second opinion on the format: promtool (scripts/deps.sh puts it in
  // build/tools/ when it is not installed).
  std::string promtool = run_capture("command -v promtool || echo build/tools/promtool");
  while (!promtool.empty() && promtool.back() == '\n') promtool.pop_back();
  REQUIRE_MESSAGE(access(promtool.c_str(), X_OK) == 0, "no promtool; run make deps");
  {
    TempDir t;
    write_file(t.path + "/m.txt", body);
    const auto check =
        run_capture(promtool + " check metrics < " + t.path + "/m.txt 2>&1; echo rc=$?");
    CHECK_MESSAGE(check.find("rc=0") != std::string::npos, check);
  }

  auto st = cli("status --json" + s.S());
  REQUIRE(st.rc == 0);
  Json j = Json::parse(st.out);
  auto attached = j["programs_attached"].get<std::vector<std::string>>();
  CHECK(std::find(attached.begin(), attached.end(), "openat") != attached.end());
  bool has_events_map = false;
  for (const auto& m : j["maps"]) has_events_map = has_events_map || m["name"] == "pg_events";
  CHECK(has_events_map);
  CHECK(j["events"]["matched"].get<int>() >= 1);
  // Captured and not yet read: a number, small on an idle daemon (the
  // event loop drains the ring buffer continuously).
  REQUIRE(j["events"]["queued"].is_number_unsigned());
  CHECK(j["events"]["queued"].get<uint64_t>() < 100000);
  CHECK(j["kernel_drops"].contains("ring_buffer_full"));
  // Crossings by rule: the kernel filter let the marker's open through for
  // the rule, which then matched it.
  REQUIRE(j["kernel_crossings"].size() >= 1);
  CHECK(j["kernel_crossings"][0]["rule"] == "Marker");
  CHECK(j["kernel_crossings"][0]["kernel_passed"].get<int>() >= 1);
  CHECK(j["kernel_crossings"][0]["matches"].get<int>() >= 1);
  auto text = cli("status" + s.S());
  CHECK(text.out.find("programs: ") != std::string::npos);
  CHECK(text.out.find("crossings: ") != std::string::npos);
  CHECK(text.out.find("drops:    ") != std::string::npos);
  // rules disable / enable through the CLI.
  REQUIRE(cli("rules disable Marker" + s.S()).rc == 0);
  auto show = Json::parse(cli("policy show default --json" + s.S()).out);
  CHECK(show["rules"][0]["enabled"] == false);
  REQUIRE(cli("rules enable --tag pgtest" + s.S()).rc == 0);
  show = Json::parse(cli("policy show default --json" + s.S()).out);
  CHECK(show["rules"][0]["enabled"] == true);
  CHECK(show["rules"][0]["matches"] == 1);  // the counter survived both switches
  CHECK(show["rules"][0]["kernel_passed"].get<int>() >= 1);
  d.stop();
}

TEST_CASE("SIGHUP reloads the rules files atomically; a broken file keeps the running policy") {
  Setup s;
  Daemon d(s.args());
  REQUIRE(d.ready());
  write_file(s.base, rule("Marker two", s.dir.path + "/second"));
  kill(d.pid(), SIGHUP);
  CHECK(eventually([&] {
    open_read(s.dir.path + "/second");
    return !d.all(alert_for("Marker two")).empty();
  }));
  write_file(s.base, "- rule: Marker three\n  desc: d\n  condition: evt.type = openat and\n");
  kill(d.pid(), SIGHUP);
  CHECK(eventually([&] { return d.stderr_text().find("reload failed") != std::string::npos; }));
  CHECK(d.stderr_text().find(s.base + ":") != std::string::npos);  // located
  const size_t before = d.all(alert_for("Marker two")).size();
  open_read(s.dir.path + "/second");
  CHECK(eventually([&] { return d.all(alert_for("Marker two")).size() > before; }));
  d.stop();
}

TEST_CASE("with watch_rules_files, an edited rules file is reloaded by itself") {
  Setup s;
  Daemon d(s.args({"-o", "watch_rules_files=true"}));
  REQUIRE(d.ready());
  std::this_thread::sleep_for(1200ms);  // let the watch take its baseline
  write_file(s.base, rule("Watched", s.dir.path + "/watched"));
  CHECK(eventually(
      [&] {
        open_read(s.dir.path + "/watched");
        return !d.all(alert_for("Watched")).empty();
      },
      8s));
  d.stop();
}

TEST_CASE("events lost in the kernel raise a rate-limited drop alert saying how many and where") {
  Setup s;
  const std::string f = s.dir.path + "/storm";
  touch(f);
  // A small ring buffer, four busy openers and a daemon that stalls (stopped
  // for a second, as a starved consumer would be): the buffer overflows.
  // With the kernel filter on, opens no rule wants never cross; off, each does.
  Daemon d(s.args({"-o", "ring_buffer_size_mb=1", "-o", "outputs_queue.lost_alert_interval_ms=1000",
                   "-o", "kernel_filter=false"}));
  REQUIRE(d.ready());
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i)
    workers.emplace_back([&] {
      while (!stop.load()) open_read(f);
    });
  std::this_thread::sleep_for(500ms);
  kill(d.pid(), SIGSTOP);
  std::this_thread::sleep_for(1s);
  kill(d.pid(), SIGCONT);
  std::this_thread::sleep_for(1s);
  stop = true;
  for (auto& w : workers) w.join();
  const std::string rule_name = "Peregrine internal: events lost";
  auto a = d.wait_for(alert_for(rule_name), 5s);
  REQUIRE(a);
  CHECK((*a)["priority"] == "Critical");
  CHECK((*a)["source"] == "internal");
  const Json& fields = (*a)["output_fields"];
  CHECK(fields["pg.events_lost"].get<int64_t>() > 0);
  CHECK(fields["pg.lost.kernel.ring_buffer_full"].get<int64_t>() > 0);
  CHECK((*a)["output"].get<std::string>().find("kernel.ring_buffer_full=") != std::string::npos);
  // Together the alerts account for every loss status reports (once the
  // last of them, at most an interval later, is out).
  std::vector<Json> drop_alerts;
  Json st;
  CHECK(eventually(
      [&] {
        drop_alerts = d.all(alert_for(rule_name));
        int64_t alerted = 0;
        for (const auto& x : drop_alerts)
          alerted += x["output_fields"]["pg.events_lost"].get<int64_t>();
        st = Json::parse(cli("status --json" + s.S()).out);
        return alerted ==
               st["kernel_drops_total"].get<int64_t>() + st["events"]["malformed"].get<int64_t>();
      },
      6s));
  // Rate limited: at most one a second (the storm lasted about 2.5 s).
  CHECK(drop_alerts.size() <= 5);
  CHECK(st["drop_alerts"].get<size_t>() == drop_alerts.size());
  d.stop();
}

TEST_CASE(
    "gaps are said at run and policy load: an uncaptured event type, a field without "
    "extractor; policy load --strict refuses them") {
  Setup s;
  const std::string gaps = s.dir.path + "/gaps.yaml";
  write_file(gaps,
             "- rule: Recv\n  desc: d\n  condition: evt.type in (recvfrom, openat) and fd.name = "
             "/nonexistent/x\n  output: \"recv %proc.vpgid.name\"\n  priority: WARNING\n");
  Daemon d(s.args({"-r", gaps}));
  REQUIRE(d.ready());
  // run: logged at warning level, with the place.
  const std::string log = d.stderr_text();
  CHECK(log.find("warning") != std::string::npos);
  CHECK(log.find("gaps.yaml:3:27: warning LOAD_EVTTYPE_NOT_CAPTURED") != std::string::npos);
  CHECK(log.find("gaps.yaml:4:") != std::string::npos);
  CHECK(log.find("warning LOAD_FIELD_UNAVAILABLE") != std::string::npos);

  auto strict = cli("policy load gaps " + gaps + " --strict" + s.S());
  CHECK(strict.rc == 1);
  INFO(strict.err);
  CHECK(strict.err.find("LOAD_EVTTYPE_NOT_CAPTURED") != std::string::npos);
  CHECK(cli("policy list --json" + s.S()).out.find("\"gaps\"") == std::string::npos);

  auto load = cli("policy load gaps " + gaps + s.S());
  REQUIRE_MESSAGE(load.rc == 0, load.err);
  CHECK(load.err.find("LOAD_EVTTYPE_NOT_CAPTURED") != std::string::npos);
  CHECK(load.err.find("LOAD_FIELD_UNAVAILABLE") != std::string::npos);
  d.stop();
}
