// Alert parity with Falco: the JSON document Falco builds for the same rule
// and event (keys, types, order), written out by hand from Falco's
// falco_formats::format_event (userspace/engine/formats.cpp) and
// falco_outputs::handle_msg; and a receiver that applies Falcosidekick's
// payload check (types/types.go, FalcoPayload.Check) to what the http
// output posts.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "policy/ruleset.h"
#include "selftests/unit/user/output_test_util.h"
#include "user/engine/engine.h"
#include "user/output/dispatcher.h"
#include "user/output/httplib_config.h"
#include "user/output/sinks.h"

using namespace pg::user;
using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// 2023-11-14T22:13:20.123456789Z
constexpr std::int64_t kTime = 1'700'000'000'123'456'789;

const char* kRules = R"(
- rule: Pod exec
  desc: an exec into a pod
  condition: ka.verb=create and ka.target.subresource=exec
  output: Exec into pod (user=%ka.user.name pod=%ka.target.name)
  priority: NOTICE
  source: k8s_audit
  tags: [mitre_execution, k8s]
- rule: Any exec
  desc: the same, with no field in its output
  condition: ka.verb=create and ka.target.subresource=exec
  output: An exec happened
  priority: WARNING
  source: k8s_audit
)";

const nlohmann::json kEvent = nlohmann::json::parse(R"({
  "kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete",
  "verb": "create", "user": {"username": "alice"},
  "objectRef": {"resource": "pods", "namespace": "default", "name": "web-0",
                "subresource": "exec"}
})");

struct Fired {
  pg::policy::LoadResult loaded;
  std::unique_ptr<engine::Engine> engine;
  std::vector<Alert> alerts;
  Fired() {
    loaded = pg::policy::load_rules_from_memory(
        std::vector<pg::policy::InputFile>{{"parity.yaml", kRules}});
    REQUIRE(loaded.ok());
    engine::EngineOptions o;
    o.all_matches = true;
    auto e = engine::Engine::build(loaded.ruleset, o);
    REQUIRE(e);
    engine = std::move(*e);
    engine::AuditView v{kEvent, kTime, 1, "node-1"};
    engine->process(v, [&](Alert&& a) { alerts.push_back(std::move(a)); });
    REQUIRE(alerts.size() == 2);
  }
};

// The text prefix uses local time, as Falco's does; pin the zone.
struct UtcZone {
  std::string old;
  bool had = false;
  UtcZone() {
    if (const char* tz = std::getenv("TZ")) {
      old = tz;
      had = true;
    }
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  ~UtcZone() {
    if (had)
      ::setenv("TZ", old.c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
};

}  // namespace

TEST_CASE("JSON alert is byte for byte Falco's document for the same rule and event") {
  UtcZone utc;
  Fired f;
  // Falco: sorted keys (nlohmann::json), the prefix's evt.time merged into
  // output_fields as integer nanoseconds, tags a sorted set.
  const std::string falco =
      R"J({"hostname":"node-1","output":"22:13:20.123456789: Notice Exec into pod (user=alice pod=web-0)",)J"
      R"J("output_fields":{"evt.time":1700000000123456789,"ka.target.name":"web-0","ka.user.name":"alice"},)J"
      R"J("priority":"Notice","rule":"Pod exec","source":"k8s_audit","tags":["k8s","mitre_execution"],)J"
      R"J("time":"2023-11-14T22:13:20.123456789Z"})J";
  CHECK(to_json(f.alerts[0]) == falco);

  // A rule whose output names no field still has output_fields: the time.
  const std::string falco_plain =
      R"J({"hostname":"node-1","output":"22:13:20.123456789: Warning An exec happened",)J"
      R"J("output_fields":{"evt.time":1700000000123456789},"priority":"Warning","rule":"Any exec",)J"
      R"J("source":"k8s_audit","tags":[],"time":"2023-11-14T22:13:20.123456789Z"})J";
  CHECK(to_json(f.alerts[1]) == falco_plain);
  CHECK(to_text(f.alerts[1]) == "22:13:20.123456789: Warning An exec happened");
}

TEST_CASE("JSON alert follows Falco's json_include_* and time_format_iso_8601 switches") {
  Fired f;
  FormatOptions o;
  o.time_format_iso_8601 = true;
  o.json_include_message_property = true;
  o.json_include_tags_property = false;
  const std::string falco =
      R"J({"hostname":"node-1","message":"Exec into pod (user=alice pod=web-0)",)J"
      R"J("output":"2023-11-14T22:13:20.123456789Z: Notice Exec into pod (user=alice pod=web-0)",)J"
      R"J("output_fields":{"evt.time.iso8601":"2023-11-14T22:13:20.123456789Z","ka.target.name":"web-0",)J"
      R"J("ka.user.name":"alice"},"priority":"Notice","rule":"Pod exec","source":"k8s_audit",)J"
      R"J("time":"2023-11-14T22:13:20.123456789Z"})J";
  CHECK(to_json(f.alerts[0], o) == falco);

  o = {};
  o.json_include_output_property = false;
  o.json_include_output_fields_property = false;
  const auto doc = nlohmann::json::parse(to_json(f.alerts[0], o));
  CHECK_FALSE(doc.contains("output"));
  CHECK_FALSE(doc.contains("output_fields"));
  CHECK(doc["rule"] == "Pod exec");
}

TEST_CASE("an internal alert has Falco's internal shape: bare output, fields, no tags") {
  UtcZone utc;
  Alert a;
  a.time_ns = kTime;
  a.rule = "Falco internal: metrics snapshot";
  a.priority = Priority::Informational;
  a.source = "internal";
  a.hostname = "node-1";
  a.output = "Falco metrics snapshot";
  a.output_fields = {{"falco.version", std::string("0.1.0")}, {"scap.n_evts", std::int64_t{7}}};
  a.tags = {"ignored"};
  CHECK(to_json(a) == R"J({"hostname":"node-1","output":"Falco metrics snapshot","output_fields":)J"
                      R"J({"falco.version":"0.1.0","scap.n_evts":7},"priority":"Informational",)J"
                      R"J("rule":"Falco internal: metrics snapshot","source":"internal",)J"
                      R"J("time":"2023-11-14T22:13:20.123456789Z"})J");
  CHECK(to_text(a) == R"J(22:13:20.123456789: Informational Falco metrics snapshot )J"
                      R"J((falco.version="0.1.0" scap.n_evts=7))J");
}

TEST_CASE("a receiver doing Falcosidekick's payload check accepts alerts of field-less rules") {
  // Falcosidekick answers 400 unless: a known priority, a rule, a non-zero
  // time and a non-empty output_fields (FalcoPayload.Check).
  httplib::Server svr;
  std::mutex mu;
  std::vector<int> answers;
  svr.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    int status = 400;
    try {
      const auto j = nlohmann::json::parse(req.body);
      const auto prio = pg::policy::priority_from_name(j.value("priority", ""));
      const bool ok = prio && !j.value("rule", "").empty() && !j.value("time", "").empty() &&
                      j.value("time", "") != "0001-01-01T00:00:00Z" &&
                      j.contains("output_fields") && j["output_fields"].is_object() &&
                      !j["output_fields"].empty();
      status = ok ? 200 : 400;
    } catch (const std::exception&) {
    }
    res.status = status;
    std::lock_guard l(mu);
    answers.push_back(status);
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread t([&] { svr.listen_after_bind(); });

  Fired f;
  Dispatcher::Options opts;
  auto dispatcher = std::make_unique<Dispatcher>(opts);
  Dispatcher& d = *dispatcher;
  HttpSinkOptions h;
  h.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  h.max_retries = 0;
  auto sink = make_http_sink(h);
  REQUIRE(sink);
  d.add_sink(std::move(*sink));
  d.start();
  for (auto& a : f.alerts) d.enqueue(std::move(a));
  CHECK(wait_until([&] {
    std::lock_guard l(mu);
    return answers.size() == 2;
  }));
  d.stop();
  auto st = d.stats();
  // The sink's kept-alive connection goes with the dispatcher; the server's
  // stop would otherwise wait for it to time out (5 s).
  dispatcher.reset();
  svr.stop();
  t.join();
  std::lock_guard l(mu);
  CHECK(answers == std::vector<int>{200, 200});
  REQUIRE(st.sinks.size() == 1);
  CHECK(st.sinks[0].delivered == 2);
  CHECK(st.sinks[0].failed == 0);
}

TEST_CASE("program output with keep_alive false runs one program per alert, as Falco does") {
  TempDir dir;
  const auto out = dir / "counts.txt";
  ProgramSinkOptions o;
  // `wc -l` prints only after end of input: one line "1" per alert proves
  // each alert had its own program, which saw the end of its input.
  o.command = "wc -l >> '" + out + "'";
  o.keep_alive = false;
  auto sink = make_program_sink(o);
  REQUIRE(sink);
  for (int i = 0; i < 3; ++i) REQUIRE((*sink)->deliver(rendered()));
  REQUIRE(wait_until([&] { return slurp(out) == "1\n1\n1\n"; }));
  o.command = "exit 3";
  auto failing = make_program_sink(o);
  REQUIRE(failing);
  auto r = (*failing)->deliver(rendered());
  REQUIRE_FALSE(r);
  CHECK(r.error().find("status 3") != std::string::npos);
}

TEST_CASE("http output honours Falco's user_agent, compress_uploads and keep_alive") {
  httplib::Server svr;
  std::mutex mu;
  std::vector<std::string> agents, encodings, bodies;
  svr.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard l(mu);
    agents.push_back(req.get_header_value("User-Agent"));
    encodings.push_back(req.get_header_value("Content-Encoding"));
    bodies.push_back(req.body);  // httplib has already decompressed it
    res.status = 200;
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread t([&] { svr.listen_after_bind(); });
  HttpSinkOptions h;
  h.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  h.user_agent = "falcosecurity/falco";
  h.compress = true;
  h.keep_alive = false;
  auto sink = make_http_sink(h);
  REQUIRE(sink);
  REQUIRE((*sink)->deliver(rendered()));
  REQUIRE((*sink)->deliver(rendered()));
  h.headers = {{"user-agent", "mine"}};
  h.compress = false;
  auto own = make_http_sink(h);
  REQUIRE(own);
  REQUIRE((*own)->deliver(rendered()));
  svr.stop();
  t.join();
  std::lock_guard l(mu);
  REQUIRE(agents.size() == 3);
  CHECK(agents[0] == "falcosecurity/falco");
  CHECK(encodings[0] == "gzip");
  CHECK(nlohmann::json::parse(bodies[0])["rule"] == "Write below etc");
  CHECK(agents[2] == "mine");
  CHECK(encodings[2] == "");

  h = {};
  h.url = "https://127.0.0.1:1/";
  h.client_cert = "/nonexistent/client.crt";
  h.client_key = "/nonexistent/client.key";
  auto bad = make_http_sink(h);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("/nonexistent/client.crt") != std::string::npos);
}

TEST_CASE(
    "append_output adds text and fields to the rules it matches; static_fields with suggested") {
  auto loaded = pg::policy::load_rules_from_memory(
      std::vector<pg::policy::InputFile>{{"parity.yaml", kRules}});
  REQUIRE(loaded.ok());
  engine::EngineOptions o;
  o.all_matches = true;
  engine::ExtraOutput x;
  x.source = "k8s_audit";
  x.tags = {"k8s"};  // only "Pod exec" has it
  x.format = "verb=%ka.verb";
  x.raw_fields = {"ka.target.namespace"};
  x.formatted_fields = {{"who", "u=%ka.user.name"}};
  engine::ExtraOutput suggested;
  suggested.suggested = true;
  o.extra_outputs = {x, suggested};
  o.static_fields = {{"cluster", "prod-eu"}};
  auto e = engine::Engine::build(loaded.ruleset, o);
  REQUIRE_MESSAGE(e, (e ? "" : e.error()));
  engine::AuditView v{kEvent, kTime, 1, "node-1"};
  std::vector<Alert> alerts;
  (*e)->process(v, [&](Alert&& a) { alerts.push_back(std::move(a)); });
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].output ==
        "Exec into pod (user=alice pod=web-0) verb=create static_cluster=prod-eu");
  CHECK(alerts[1].output == "An exec happened static_cluster=prod-eu");
  const auto doc = nlohmann::json::parse(to_json(alerts[0]));
  CHECK(doc["output_fields"]["ka.verb"] == "create");
  CHECK(doc["output_fields"]["ka.target.namespace"] == "default");
  CHECK(doc["output_fields"]["who"] == "u=alice");
  CHECK(doc["output_fields"]["static.cluster"] == "prod-eu");
  // An unknown field in append_output stops the build with its entry.
  x.format = "%no.such_field";
  o.extra_outputs = {x};
  auto bad = engine::Engine::build(loaded.ruleset, o);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("append_output[0]") != std::string::npos);
}
