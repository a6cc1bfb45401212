// peregrine run: Falco's rules against real actions, alerts through every
// output, and outputs that fail without holding up the others.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "harness.h"
#include "selftests/common/falco_files.h"
#include "user/output/httplib_config.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");

// Run a command in a child shell and wait for it.
void sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  (void)rc;
}

auto alert_for(const std::string& rule) {
  return [rule](const Json& j) { return j.value("rule", "") == rule; };
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A local HTTP receiver on 127.0.0.1; optionally slow.
struct Receiver {
  explicit Receiver(std::chrono::milliseconds delay = 0ms) {
    srv.Post("/alerts", [this, delay](const httplib::Request& req, httplib::Response& res) {
      std::this_thread::sleep_for(delay);
      std::lock_guard lock(mu);
      bodies.push_back(req.body);
      content_types.push_back(req.get_header_value("Content-Type"));
      res.status = 200;
    });
    port = srv.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { srv.listen_after_bind(); });
  }
  ~Receiver() {
    srv.stop();
    thread.join();
  }
  std::vector<std::string> got() {
    std::lock_guard lock(mu);
    return bodies;
  }
  httplib::Server srv;
  int port = 0;
  std::thread thread;
  std::mutex mu;
  std::vector<std::string> bodies, content_types;
};

}  // namespace

TEST_CASE(
    "reading /etc/shadow raises Falco's Read sensitive file untrusted; a benign read does not" *
    PG_NEEDS_FALCO_FILES) {
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  sh("cat /etc/hostname > /dev/null");
  sh("cat /etc/shadow > /dev/null");
  auto a = d.wait_for(alert_for("Read sensitive file untrusted"));
  REQUIRE(a);
  const Json& f = (*a)["output_fields"];
  CHECK(f["fd.name"] == "/etc/shadow");
  CHECK(f["proc.name"] == "cat");
  CHECK(f["proc.cmdline"] == "cat /etc/shadow");
  CHECK(f["user.name"] == "root");
  CHECK(f["user.uid"] == 0);
  CHECK(f["proc.exepath"] == std::filesystem::canonical("/bin/cat").string());
  CHECK(f["evt.type"] == "openat");
  CHECK((*a)["priority"] == "Warning");
  CHECK((*a)["source"] == "syscall");
  CHECK((*a)["output"].get<std::string>().find("file=/etc/shadow") != std::string::npos);
  CHECK((*a)["tags"].size() > 0);
  CHECK((*a)["time"].get<std::string>().ends_with("Z"));
  std::this_thread::sleep_for(300ms);
  d.stop();
  CHECK(d.stderr_text().find("rule matched 1 times: Read sensitive file untrusted") !=
        std::string::npos);
  // Nothing fired for /etc/hostname.
  for (const auto& j : d.all([](const Json&) { return true; }))
    CHECK(j["output_fields"].value("fd.name", "") != "/etc/hostname");
}

TEST_CASE("the same alert arrives through the file, program, syslog and HTTP outputs" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  std::string file_out = dir.path + "/alerts.log", prog_out = dir.path + "/program.log",
              syslog_sock = dir.path + "/syslog.sock";
  int slog = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, syslog_sock.c_str(), sizeof(sa.sun_path) - 1);
  REQUIRE(bind(slog, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  Receiver http;

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
            "file_output.filename=" + file_out,
            "-o",
            "program_output.enabled=true",
            "-o",
            "program_output.program=cat >> " + prog_out,
            "-o",
            "syslog_output.enabled=true",
            "-o",
            "syslog_output.socket=" + syslog_sock,
            "-o",
            "http_output.enabled=true",
            "-o",
            "http_output.url=http://127.0.0.1:" + std::to_string(http.port) + "/alerts"});
  REQUIRE(d.ready());
  sh("cat /etc/shadow > /dev/null");
  const std::string rule = "Read sensitive file untrusted";
  REQUIRE(d.wait_for(alert_for(rule)));
  CHECK(eventually([&] { return slurp(file_out).find(rule) != std::string::npos; }));
  CHECK(eventually([&] { return slurp(prog_out).find(rule) != std::string::npos; }));
  CHECK(eventually([&] {
    for (const auto& b : http.got())
      if (b.find(rule) != std::string::npos) return true;
    return false;
  }));
  char buf[8192];
  bool got_syslog = false;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  fcntl(slog, F_SETFL, O_NONBLOCK);
  while (!got_syslog && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = recv(slog, buf, sizeof(buf) - 1, 0);
    if (n > 0)
      got_syslog = std::string(buf, size_t(n)).find(rule) != std::string::npos;
    else
      std::this_thread::sleep_for(20ms);
  }
  CHECK(got_syslog);
  auto line = Json::parse(slurp(file_out).substr(0, slurp(file_out).find('\n')), nullptr, false);
  REQUIRE_FALSE(line.is_discarded());
  CHECK(line["output_fields"]["fd.name"] == "/etc/shadow");
  close(slog);
}

TEST_CASE("a refusing or slow webhook does not delay stdout, and its failures are counted" *
          PG_NEEDS_FALCO_FILES) {
  // A port nobody listens on: bind, learn the port, close.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int dead_port = ntohs(a.sin_port);
  close(s);

  for (bool slow : {false, true}) {
    CAPTURE(slow);
    Receiver receiver(3s);
    const int port = slow ? receiver.port : dead_port;
    Daemon d({"run", "-r", kFalcoRules, "-c", "/dev/null", "--json", "-o",
              "http_output.enabled=true", "-o", "http_output.max_retries=1", "-o",
              "http_output.timeout_ms=500", "-o",
              "http_output.url=http://127.0.0.1:" + std::to_string(port) + "/alerts"});
    REQUIRE(d.ready());
    auto t0 = std::chrono::steady_clock::now();
    sh("cat /etc/shadow > /dev/null");
    REQUIRE(d.wait_for(alert_for("Read sensitive file untrusted"), 5s));
    // stdout got it while the webhook is still failing / blocked.
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(d.stop() == 0);
    std::string err = d.stderr_text();
    CHECK(err.find("stopped:") != std::string::npos);
    // The failed delivery is reported: in the per-sink error log or the
    // final "lost in outputs" count.
    CHECK((err.find("http") != std::string::npos ||
           err.find("lost in outputs") != std::string::npos));
  }
}

TEST_CASE("a rules file with an error is refused with its location, and nothing is attached") {
  TempDir dir;
  std::string bad = dir.path + "/bad.yaml";
  std::ofstream(bad) << "- rule: broken\n  desc: x\n  condition: proc.nme = bash\n  output: x\n"
                        "  priority: WARNING\n";
  Daemon d({"run", "-r", bad, "-c", "/dev/null"}, "");
  CHECK(d.wait_exit() == 1);
  std::string err = d.stderr_text();
  CHECK(err.find("bad.yaml:3") != std::string::npos);
  CHECK(err.find("proc.nme") != std::string::npos);
  CHECK(err.find("attached") == std::string::npos);
}

TEST_CASE("replaying a recording of a live run gives exactly that run's alerts" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  std::string rec = dir.path + "/live.pgrec";
  std::vector<std::string> live;
  {
    Daemon d({"run", "-r", kFalcoRules, "-r", "rules", "-c", "/dev/null", "--json", "-o",
              "rule_matching=all", "--record", rec});
    REQUIRE(d.ready());
    sh("cat /etc/shadow > /dev/null; cd /etc && head -c1 ./shadow > /dev/null");
    sh("mkdir -p /dev/shm/pg-e2e && cp /bin/true /dev/shm/pg-e2e/t && /dev/shm/pg-e2e/t; "
       "rm -rf /dev/shm/pg-e2e");
    REQUIRE(d.wait_for(alert_for("Program executed from a memory-backed directory")));
    std::this_thread::sleep_for(300ms);
    REQUIRE(d.stop() == 0);
    live = d.stdout_lines();
  }
  REQUIRE(live.size() >= 3);
  Daemon r({"replay", "-r", kFalcoRules, "-r", "rules", "-c", "/dev/null", "--json", "-o",
            "rule_matching=all", rec},
           "");
  REQUIRE(r.wait_exit(30s) == 0);
  CHECK(r.stdout_lines() == live);
}

TEST_CASE("replay refuses a file that is not a recording") {
  TempDir dir;
  std::string junk = dir.path + "/junk";
  std::ofstream(junk) << "not a recording";
  Daemon r({"replay", "-r", "rules", "-c", "/dev/null", junk}, "");
  CHECK(r.wait_exit() == 1);
  CHECK(r.stderr_text().find("is not a Peregrine recording") != std::string::npos);
}
