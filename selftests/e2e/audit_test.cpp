// peregrine run / replay with the k8s_audit source: Falco's audit rules
// against audit events posted to the real webhook on loopback, read from a
// followed and rotated file, and replayed from a file; bad requests are
// rejected and counted. Only audit rules are loaded, so these runs also show
// the daemon working without any BPF program.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness.h"
#include "selftests/common/falco_files.h"
#include "selftests/unit/user/audit_cases.h"
#include "user/output/httplib_config.h"

using namespace pg::e2e;
namespace cases = pg::test::audit;

namespace {

const std::string kAuditRules = pg::test::falco_file("k8s_audit_rules.yaml");

// A loopback port nothing listens on right now.
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

std::vector<std::string> audit_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"run",       "-r",
                                   kAuditRules, "--json",
                                   "-o",        "rule_matching=all",
                                   "-o",        "k8s_audit.enabled=true",
                                   "-o",        "k8s_audit.address=127.0.0.1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Rule name → how many alerts the test cases must raise in total.
std::map<std::string, int> expected_counts() {
  std::map<std::string, int> out;
  for (const auto& c : cases::cases())
    for (const auto& r : c.expected) ++out[r];
  return out;
}

// A last event that fires a rule no case fires, so that once its alert is
// out, every earlier alert is out too (alerts leave in order).
cases::Json marker() {
  cases::Json e =
      cases::base_event("create", "namespaces", "", "marker-ns", "kubernetes-admin", 201);
  e["auditID"] = "marker";
  return e;
}
bool is_marker(const Json& j) {
  return j.value("rule", "") == "Create Disallowed Namespace" &&
         j.value("output", "").find("marker-ns") != std::string::npos;
}

// Every alert before the marker, counted by rule; checks each is k8s_audit.
std::map<std::string, int> alerts_before_marker(Daemon& d) {
  REQUIRE(d.wait_for(is_marker, 10s));
  std::map<std::string, int> got;
  for (const auto& j : d.all([](const Json&) { return true; })) {
    if (is_marker(j)) break;
    CHECK(j.value("source", "") == "k8s_audit");
    CHECK(j.contains("output_fields"));
    ++got[j.value("rule", "")];
  }
  return got;
}

}  // namespace

TEST_CASE("audit e2e: events posted to the webhook fire their rules; benign ones fire nothing" *
          PG_NEEDS_FALCO_FILES) {
  const int port = free_port();
  Daemon d(audit_args({"-o", "k8s_audit.port=" + std::to_string(port)}));
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  CHECK(d.stderr_text().find("no programs attached") != std::string::npos);
  httplib::Client c("127.0.0.1", port);
  // Half the cases one Event per request, the rest in one v1beta1 EventList.
  auto all = cases::cases();
  cases::Json list = {{"kind", "EventList"},
                      {"apiVersion", "audit.k8s.io/v1beta1"},
                      {"items", cases::Json::array()}};
  for (size_t i = 0; i < all.size(); ++i) {
    if (i % 2 == 0) {
      auto r = c.Post("/k8s-audit", all[i].event.dump(), "application/json");
      REQUIRE(r);
      CHECK(r->status == 200);
    } else {
      list["items"].push_back(all[i].event);
    }
  }
  auto r = c.Post("/k8s-audit", list.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  r = c.Post("/k8s-audit", marker().dump(), "application/json");
  REQUIRE(r);
  CHECK(alerts_before_marker(d) == expected_counts());
  CHECK(d.stop() == 0);
  CHECK(d.stderr_text().find(fmt::format("{} requests, {} events; rejected: 0 malformed",
                                         all.size() / 2 + (all.size() % 2) + 2, all.size() + 1)) !=
        std::string::npos);
}

TEST_CASE("audit e2e: bad webhook requests are rejected, counted, and change nothing" *
          PG_NEEDS_FALCO_FILES) {
  const int port = free_port();
  Daemon d(audit_args({"-o", "k8s_audit.port=" + std::to_string(port), "-o",
                       "k8s_audit.token=e2e-token", "-o", "k8s_audit.max_request_mb=1"}));
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", "Bearer e2e-token"}};
  auto priv = cases::cases().front().event;  // the privileged pod
  REQUIRE(cases::cases().front().expected.count("Create Privileged Pod"));

  auto r = c.Post("/k8s-audit", priv.dump(), "application/json");  // no token
  REQUIRE(r);
  CHECK(r->status == 401);
  r = c.Post("/k8s-audit", auth, priv.dump(), "text/plain");
  REQUIRE(r);
  CHECK(r->status == 415);
  r = c.Post("/k8s-audit", auth, priv.dump().substr(0, 100), "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  auto big = priv;
  big["requestObject"]["metadata"]["annotations"] = {{"pad", std::string(2 << 20, 'x')}};
  r = c.Post("/k8s-audit", auth, big.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 413);
  r = c.Post("/k8s-audit", auth, marker().dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  // None of the refused requests raised an alert.
  CHECK(alerts_before_marker(d).empty());
  CHECK(d.running());
  CHECK(d.stop() == 0);
  CHECK(d.stderr_text().find("5 requests, 1 events; rejected: 1 malformed (400), 1 unauthorized "
                             "(401), 1 too large (413), 1 wrong content type (415)") !=
        std::string::npos);
}

TEST_CASE("audit e2e: a followed audit log fires the same rules, across rotation" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string log = dir.path + "/audit.log";
  auto all = cases::cases();
  const size_t half = all.size() / 2;
  {
    std::ofstream out(log);
    for (size_t i = 0; i < half; ++i) out << all[i].event.dump() << "\n";
  }
  Daemon d(audit_args({"-o", "k8s_audit.file=" + log}));
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  // Rotate only once the old file is being read (its first event, the
  // privileged pod, has fired), so the test does not race the follower.
  REQUIRE(all.front().expected.count("Create Privileged Pod"));
  REQUIRE(d.wait_for([](const Json& j) { return j.value("rule", "") == "Create Privileged Pod"; },
                     10s));
  // Rotate: the old file is renamed, the rest of the events go to a new one.
  std::filesystem::rename(log, log + ".1");
  {
    std::ofstream out(log);
    for (size_t i = half; i < all.size(); ++i) out << all[i].event.dump() << "\n";
    out << marker().dump() << "\n";
  }
  CHECK(alerts_before_marker(d) == expected_counts());
  CHECK(d.stop() == 0);
  CHECK(d.stderr_text().find("0 malformed lines") != std::string::npos);
}

TEST_CASE("audit e2e: replay recognises an audit file and loads it with the syscall rules" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  cases::Json list = {
      {"kind", "EventList"}, {"apiVersion", "audit.k8s.io/v1"}, {"items", cases::Json::array()}};
  for (const auto& c : cases::cases()) list["items"].push_back(c.event);
  list["items"].push_back(marker());
  const std::string file = dir.path + "/events.json";
  std::ofstream(file) << list.dump(2);
  Daemon d({"replay", "-r", pg::test::falco_file("falco_rules.yaml"), "-r", kAuditRules, "--json",
            "-o", "rule_matching=all", file},
           "");
  CHECK(d.wait_exit(30s) == 0);
  CHECK(alerts_before_marker(d) == expected_counts());
  CHECK(d.stderr_text().find(fmt::format("replayed {} events", list["items"].size())) !=
        std::string::npos);
}

TEST_CASE("audit e2e: one daemon judges syscall events and audit events side by side" *
          PG_NEEDS_FALCO_FILES) {
  const int port = free_port();
  auto args = audit_args({"-o", "k8s_audit.port=" + std::to_string(port), "-c", "/dev/null"});
  args.insert(args.begin() + 1, {"-r", pg::test::falco_file("falco_rules.yaml")});
  Daemon d(args);
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  CHECK(d.stderr_text().find("no programs attached") == std::string::npos);
  httplib::Client c("127.0.0.1", port);
  // A loaded machine (the suite right after a build) can take longer than
  // httplib's 5 s default to answer while the syscall side is busy.
  c.set_connection_timeout(30s);
  c.set_read_timeout(30s);
  // One connection for every request, as an API server's webhook backend
  // keeps one: a connection per request is a test of the client's port
  // reuse, not of the daemon (in CI some connects failed at once, then
  // the next ones worked).
  c.set_keep_alive(true);
  // Syscalls and webhook requests at once, from two threads.
  std::thread reader([] {
    for (int i = 0; i < 20; ++i) CHECK(std::system("cat /etc/shadow > /dev/null") == 0);
  });
  for (const auto& k : cases::cases()) {
    auto r = c.Post("/k8s-audit", k.event.dump(), "application/json");
    // No REQUIRE while the reader runs: leaving here would not join it.
    CHECK_MESSAGE(r, "a webhook request got no answer: " << httplib::to_string(r.error()));
    if (r) CHECK(r->status == 200);
  }
  reader.join();
  auto r = c.Post("/k8s-audit", marker().dump(), "application/json");
  REQUIRE(r);
  REQUIRE(d.wait_for(is_marker, 10s));
  REQUIRE(d.wait_for(
      [](const Json& j) { return j.value("rule", "") == "Read sensitive file untrusted"; }, 10s));
  CHECK(d.stop() == 0);
  std::map<std::string, int> audit_got;
  int shadow = 0;
  for (const auto& j : d.all([](const Json&) { return true; })) {
    if (j.value("source", "") == "k8s_audit") {
      // The marker's own alerts (it fires more than one rule) are not cases.
      if (j.value("output", "").find("marker-ns") == std::string::npos)
        ++audit_got[j.value("rule", "")];
    } else if (j.value("rule", "") == "Read sensitive file untrusted") {
      CHECK(j["output_fields"].value("fd.name", "") == "/etc/shadow");
      ++shadow;
    }
  }
  const auto want = expected_counts();
  for (const auto& [rule, n] : want) CHECK_MESSAGE(audit_got[rule] == n, rule);
  for (const auto& [rule, n] : audit_got) CHECK_MESSAGE(want.count(rule), rule << " x" << n);
  // Every read alerted: the syscall side lost nothing to the audit side.
  CHECK(shadow == 20);
}

TEST_CASE("audit e2e: eight slowloris clients do not keep a ninth's events from alerting" *
          PG_NEEDS_FALCO_FILES) {
  const int port = free_port();
  Daemon d(audit_args(
      {"-o", "k8s_audit.port=" + std::to_string(port), "-o", "k8s_audit.header_timeout_ms=60000"}));
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());
  // Eight clients each send a request head at one byte a second.
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    slow.push_back(s);
  }
  std::atomic<bool> done{false};
  std::thread drip([&] {
    const std::string head = "POST /k8s-audit HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < head.size() && !done; ++i) {
      for (int s : slow) send(s, &head[i], 1, MSG_NOSIGNAL);
      for (int t = 0; t < 10 && !done; ++t) std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(1500ms);
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(3);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.Post("/k8s-audit", marker().dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(d.wait_for(is_marker, 3s));
  done = true;
  drip.join();
  for (int s : slow) close(s);
  CHECK(d.stop() == 0);
}
