// Kubernetes audit events through the rule engine: Falco's audit rules load
// next to the syscall rules, each test event fires exactly its rules, and
// the ka.* / jevt.* fields read what Falco's k8saudit plugin reads.
#include <doctest/doctest.h>

#include <filesystem>

#include "policy/ruleset.h"
#include "selftests/common/falco_files.h"
#include "selftests/unit/user/audit_cases.h"
#include "user/engine/engine.h"

using namespace pg::user;
using namespace pg::user::engine;
using pg::policy::EventSource;
using pg::test::audit::Json;

namespace {

struct Loaded {
  pg::policy::LoadResult loaded;
  std::unique_ptr<Engine> engine;

  Loaded(pg::policy::LoadResult r, EngineOptions opts) : loaded(std::move(r)) {
    for (const auto& d : loaded.diagnostics.all())
      if (d.is_error()) MESSAGE(pg::policy::render_text(d));
    REQUIRE(loaded.ok());
    auto e = Engine::build(loaded.ruleset, opts);
    REQUIRE_MESSAGE(e, (e ? "" : e.error()));
    engine = std::move(*e);
  }
  static Loaded files(const std::vector<std::string>& names, bool all = true) {
    std::vector<std::string> paths;
    for (const auto& n : names) paths.push_back(pg::test::falco_file(n));
    EngineOptions o;
    o.all_matches = all;
    return Loaded(pg::policy::load_rules(paths), o);
  }
  static Loaded yaml(const std::string& text) {
    EngineOptions o;
    o.all_matches = true;
    return Loaded(
        pg::policy::load_rules_from_memory(std::vector<pg::policy::InputFile>{{"test.yaml", text}}),
        o);
  }

  std::vector<output::Alert> fire(const Json& event) {
    AuditView v{event, 1'700'000'000'000'000'000, 1, "host"};
    std::vector<output::Alert> out;
    engine->process(v, [&](output::Alert&& a) { out.push_back(std::move(a)); });
    return out;
  }
  std::set<std::string> rules_fired(const Json& event) {
    std::set<std::string> names;
    for (const auto& a : fire(event)) names.insert(a.rule);
    return names;
  }
};

std::string field(const std::string& name, const Json& event) {
  auto f = bind_field_name(name, EventSource::K8sAudit);
  REQUIRE_MESSAGE(f, name);
  AuditView v{event, 1'764'324'000'123'456'000, 7, "host"};
  std::string scratch;
  return render_value(extract(*f, v, scratch));
}

}  // namespace

TEST_CASE("audit: k8s_audit_rules.yaml loads and compiles together with the syscall rules" *
          PG_NEEDS_FALCO_FILES) {
  auto l = Loaded::files({"falco_rules.yaml", "falco-incubating_rules.yaml",
                          "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml"});
  CHECK(l.engine->rule_count(EventSource::K8sAudit) >= 30);
  CHECK(l.engine->rule_count(EventSource::Syscall) >= 50);
  // Audit rules need no syscall hook: the syscall needs are those of the
  // syscall files alone.
  auto only_syscall = Loaded::files({"falco_rules.yaml"});
  auto only_audit = Loaded::files({"k8s_audit_rules.yaml"});
  CHECK(only_audit.engine->rule_count(EventSource::Syscall) == 0);
  CHECK(only_audit.engine->needed_types().empty());
  CHECK_FALSE(only_audit.engine->needs_all_types());
  CHECK(only_syscall.engine->needed_types() ==
        Loaded::files({"falco_rules.yaml", "k8s_audit_rules.yaml"}).engine->needed_types());
}

TEST_CASE("audit: each test event fires exactly its rules, benign events none" *
          PG_NEEDS_FALCO_FILES) {
  // Syscall rules loaded too: they must never see an audit event.
  auto l = Loaded::files({"falco_rules.yaml", "k8s_audit_rules.yaml"});
  for (const auto& c : pg::test::audit::cases()) {
    CAPTURE(c.name);
    CHECK(l.rules_fired(c.event) == c.expected);
  }
}

TEST_CASE("audit: alerts carry source k8s_audit, the event time and rendered ka.* fields" *
          PG_NEEDS_FALCO_FILES) {
  auto l = Loaded::files({"k8s_audit_rules.yaml"});
  auto cases = pg::test::audit::cases();
  const auto& exec = *std::find_if(cases.begin(), cases.end(),
                                   [](const auto& c) { return c.name == "exec into a pod"; });
  auto alerts = l.fire(exec.event);
  REQUIRE(alerts.size() == 1);
  const auto& a = alerts[0];
  CHECK(a.source == "k8s_audit");
  CHECK(a.rule == "Attach/Exec Pod");
  CHECK(a.time_ns == 1'700'000'000'000'000'000);
  CHECK(a.output ==
        "Attach/Exec to pod (user=kubernetes-admin pod=web resource=pods ns=default "
        "action=exec command=sh)");
  CHECK(a.priority == output::Priority::Notice);
}

TEST_CASE("audit: first-match mode reports one rule per event, in load order" *
          PG_NEEDS_FALCO_FILES) {
  auto l = Loaded::files({"k8s_audit_rules.yaml"}, /*all=*/false);
  auto cases = pg::test::audit::cases();
  const auto& secret = *std::find_if(cases.begin(), cases.end(), [](const auto& c) {
    return c.name == "secret read by an unexpected user";
  });
  CHECK(l.rules_fired(secret.event) == std::set<std::string>{"Disallowed K8s User"});
}

TEST_CASE("audit: ka.* fields read the audit event") {
  auto cases = pg::test::audit::cases();
  auto find = [&](const std::string& n) {
    return std::find_if(cases.begin(), cases.end(), [&](const auto& c) { return c.name == n; })
        ->event;
  };
  Json exec = find("exec into a pod");
  CHECK(field("ka.verb", exec) == "create");
  CHECK(field("ka.user.name", exec) == "kubernetes-admin");
  CHECK(field("ka.user.groups", exec) == "(system:masters,system:authenticated)");
  CHECK(field("ka.target.resource", exec) == "pods");
  CHECK(field("ka.target.subresource", exec) == "exec");
  CHECK(field("ka.target.pod.name", exec) == "web");
  CHECK(field("ka.uri.param[command]", exec) == "sh");
  CHECK(field("ka.uri.param[tty]", exec) == "true");
  CHECK(field("ka.uri.param[nope]", exec) == "<NA>");
  CHECK(field("ka.response.code", exec) == "101");
  CHECK(field("ka.sourceips", exec) == "(10.0.0.7)");
  CHECK(field("ka.sourceips[0]", exec) == "10.0.0.7");
  CHECK(field("ka.useragent", exec).starts_with("kubectl/"));
  CHECK(field("ka.auth.decision", exec) == "allow");
  CHECK(field("ka.stage", exec) == "ResponseStarted");
  CHECK(field("ka.impuser.name", exec) == "<NA>");
  CHECK(field("evt.source", exec) == "k8s_audit");
  CHECK(field("evt.num", exec) == "7");
  CHECK(field("jevt.rawtime", exec) == "1764324000123456000");
  CHECK(field("jevt.value[/objectRef/namespace]", exec) == "default");
  CHECK(field("jevt.value[/user/groups/1]", exec) == "system:authenticated");
  CHECK(field("jevt.value[/user/groups/9]", exec) == "<NA>");
  CHECK(field("jevt.value[/responseStatus]", exec) == R"({"code":101,"metadata":{}})");
  CHECK(field("jevt.value[/annotations/authorization.k8s.io~1decision]", exec) == "allow");
  CHECK(field("jevt.time.iso8601", exec).starts_with("2025-11-28T"));

  Json mixed = find("privileged pod, one trusted image of two");
  CHECK(field("ka.req.pod.containers.image", mixed) ==
        "(docker.io/falcosecurity/falco:0.37.1,docker.io/library/nginx:1.25)");
  CHECK(field("ka.req.pod.containers.image.repository", mixed) ==
        "(docker.io/falcosecurity/falco,docker.io/library/nginx)");
  CHECK(field("ka.req.pod.containers.image[1]", mixed) == "docker.io/library/nginx:1.25");
  CHECK(field("ka.req.container.image", mixed) == "docker.io/falcosecurity/falco:0.37.1");
  CHECK(field("ka.req.pod.containers.privileged", mixed) == "(true,false)");
  CHECK(field("ka.req.pod.initContainers.image", mixed) == "<NA>");
  CHECK(field("ka.req.pod.containers.eff_run_as_user", mixed) == "(0,0)");
  CHECK(field("ka.resp.name", mixed) == "mixed");

  Json mount = find("sensitive hostPath mount");
  CHECK(field("ka.req.pod.volumes.hostpath", mount) == "(/etc)");
  CHECK(field("ka.req.pod.volumes.volume_type", mount) == "(hostPath)");
  CHECK(field("ka.req.volume.hostpath[/etc]", mount) == "true");
  CHECK(field("ka.req.volume.hostpath[/var*]", mount) == "false");

  Json role = find("ClusterRole with wildcard verbs");
  CHECK(field("ka.req.role.rules.verbs", role) == "(*)");
  CHECK(field("ka.req.role.rules.resources", role) == "(pods,secrets)");
  CHECK(field("ka.req.role.rules.resources[0]", role) == "(pods,secrets)");
  CHECK(field("ka.req.role.rules.resources[1]", role) == "<NA>");

  Json binding = find("binding to cluster-admin");
  CHECK(field("ka.req.binding.role", binding) == "cluster-admin");
  CHECK(field("ka.req.binding.subjects", binding) == "(mallory)");
  CHECK(field("ka.req.binding.subject.has_name[mallory]", binding) == "true");
  CHECK(field("ka.req.binding.subject.has_name[bob]", binding) == "false");

  Json svc = find("NodePort service");
  CHECK(field("ka.req.service.type", svc) == "NodePort");
  CHECK(field("ka.req.service.ports", svc) == R"(({"nodePort":30080,"port":80,"protocol":"TCP"}))");

  Json hostnet = find("hostNetwork pod");
  CHECK(field("ka.req.pod.host_network", hostnet) == "true");
  CHECK(field("ka.req.pod.host_pid", hostnet) == "<NA>");
}

TEST_CASE("audit: list fields follow Falco's in / intersects semantics") {
  auto l = Loaded::yaml(R"(
- rule: groups in
  desc: d
  condition: ka.user.groups in (system:masters, system:authenticated, admins)
  output: "in"
  priority: WARNING
  source: k8s_audit
- rule: groups intersects
  desc: d
  condition: ka.user.groups intersects (admins)
  output: "intersects"
  priority: WARNING
  source: k8s_audit
- rule: groups equal
  desc: d
  condition: ka.user.groups = admins
  output: "eq"
  priority: WARNING
  source: k8s_audit
- rule: no such member
  desc: d
  condition: not ka.user.groups exists
  output: "none"
  priority: WARNING
  source: k8s_audit
)");
  Json e = pg::test::audit::base_event("get", "pods", "default", "p");
  // {system:masters, system:authenticated} ⊆ the set; no "admins".
  CHECK(l.rules_fired(e) == std::set<std::string>{"groups in"});
  e["user"]["groups"] = {"admins", "devs"};
  // "devs" is outside the `in` set; "admins" intersects and equals.
  CHECK(l.rules_fired(e) == std::set<std::string>{"groups intersects", "groups equal"});
  e["user"].erase("groups");
  CHECK(l.rules_fired(e) == std::set<std::string>{"no such member"});
}

TEST_CASE("audit: a syscall-only field in an audit rule is a load error, not a silent <NA>") {
  auto r = pg::policy::load_rules_from_memory(std::vector<pg::policy::InputFile>{{"t.yaml", R"(
- rule: wrong source
  desc: d
  condition: proc.name = bash
  output: "x"
  priority: WARNING
  source: k8s_audit
)"}});
  CHECK_FALSE(r.ok());
}

// The k8saudit plugin's rules as shipped in 2023 (a short test copy in
// selftests/data/legacy_rules/): an integer required_engine_version, old
// plugin versions with alternatives, and a bare `-` item. They load without
// errors and fire on the same events as today's rules of the same names.
TEST_CASE("audit: the k8saudit rules of 2023 load and fire like today's") {
  std::vector<std::string> p{"selftests/data/legacy_rules/k8s_audit_rules_2023.yaml"};
  EngineOptions o;
  o.all_matches = true;
  Loaded l(pg::policy::load_rules(p), o);
  CHECK(l.loaded.ruleset.rules.size() == 3);
  const std::set<std::string> mine{"Disallowed K8s User", "Create Privileged Pod",
                                   "Attach/Exec Pod"};
  int fired = 0;
  for (const auto& c : pg::test::audit::cases()) {
    CAPTURE(c.name);
    std::set<std::string> want;
    for (const auto& r : c.expected)
      if (mine.contains(r)) want.insert(r);
    auto got = l.rules_fired(c.event);
    CHECK(got == want);
    fired += int(got.size());
  }
  CHECK(fired >= 3);
}
