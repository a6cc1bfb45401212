// The default ruleset's Kubernetes audit rules (rules/k8s_audit.yaml), each
// with an audit event that must fire it and a nearby benign event that must
// fire nothing, judged by the real engine with the whole of rules/ loaded.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "policy/ruleset.h"
#include "selftests/unit/user/audit_cases.h"
#include "user/engine/engine.h"

using namespace pg::user::engine;
using pg::policy::EventSource;
using pg::test::audit::base_event;
using pg::test::audit::container;
using pg::test::audit::Json;
using pg::test::audit::pod_create;
using pg::test::audit::pod_spec;
using pg::test::audit::pod_subresource;

namespace {

std::vector<std::string> default_rules_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator("rules"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

struct DefaultRules {
  pg::policy::LoadResult loaded;
  std::unique_ptr<Engine> engine;
  DefaultRules() : loaded(pg::policy::load_rules(default_rules_files())) {
    for (const auto& d : loaded.diagnostics.all()) MESSAGE(pg::policy::render_text(d));
    REQUIRE(loaded.ok());
    REQUIRE(loaded.diagnostics.warning_count() == 0);
    EngineOptions o;
    o.all_matches = true;
    auto e = Engine::build(loaded.ruleset, o);
    REQUIRE_MESSAGE(e, (e ? "" : e.error()));
    engine = std::move(*e);
  }
  std::set<std::string> fired(const Json& event) {
    AuditView v{event, 1'764'324'000'000'000'000, 1, "host"};
    std::set<std::string> names;
    engine->process(v, [&](pg::user::output::Alert&& a) { names.insert(a.rule); });
    return names;
  }
};

Json with_spec(Json e, const char* key, Json value) {
  e["requestObject"]["spec"][key] = std::move(value);
  return e;
}

Json role(const std::string& resource, const std::string& name, Json verbs) {
  Json e = base_event("create", resource, "", name, "mallory", 201);
  e["objectRef"]["apiGroup"] = "rbac.authorization.k8s.io";
  e["requestObject"] = {
      {"kind", "ClusterRole"},
      {"metadata", {{"name", name}}},
      {"rules", {{{"apiGroups", {""}}, {"resources", {"pods"}}, {"verbs", verbs}}}}};
  return e;
}

Json binding(const std::string& role_name) {
  Json e = base_event("create", "clusterrolebindings", "", "b-" + role_name, "mallory", 201);
  e["requestObject"] = {{"kind", "ClusterRoleBinding"},
                        {"roleRef", {{"kind", "ClusterRole"}, {"name", role_name}}},
                        {"subjects", {{{"kind", "User"}, {"name", "mallory"}}}}};
  return e;
}

Json anonymous(const std::string& uri) {
  Json e = base_event("get", "namespaces", "", "", "system:anonymous", 200);
  e["requestURI"] = uri;
  e["user"]["groups"] = {"system:unauthenticated"};
  return e;
}

struct K8sCase {
  std::string rule;
  Json attack, benign;
};

std::vector<K8sCase> cases() {
  std::vector<K8sCase> out;
  Json log = base_event("get", "pods", "default", "web", "kubernetes-admin", 200);
  log["objectRef"]["subresource"] = "log";
  out.push_back({"K8s exec or attach into a pod",
                 pod_subresource("exec", "command=sh&container=web&stdin=true&tty=true"), log});

  Json refused = pod_subresource("portforward", "ports=8080");
  refused["stage"] = "ResponseComplete";
  refused["responseStatus"]["code"] = 403;
  out.push_back(
      {"K8s port-forward into a pod", pod_subresource("portforward", "ports=8080"), refused});

  Json debug = base_event("patch", "pods", "default", "web", "kubernetes-admin", 200);
  debug["objectRef"]["subresource"] = "ephemeralcontainers";
  debug["requestObject"] = {
      {"spec", {{"ephemeralContainers", {{{"name", "dbg"}, {"image", "busybox:1.36"}}}}}}};
  Json labels = base_event("patch", "pods", "default", "web", "kubernetes-admin", 200);
  labels["requestObject"] = {{"metadata", {{"labels", {{"tier", "web"}}}}}};
  out.push_back({"K8s ephemeral debug container added", debug, labels});

  out.push_back(
      {"K8s privileged pod created", pod_create("priv", pod_spec({container("nginx:1.25", true)})),
       pod_create("falco", pod_spec({container("docker.io/falcosecurity/falco:0.37.1", true)}))});

  out.push_back(
      {"K8s pod sharing host namespaces created",
       with_spec(pod_create("hostpid", pod_spec({container("busybox:1.36")})), "hostPID", true),
       with_spec(pod_create("plain", pod_spec({container("busybox:1.36")})), "hostPID", false)});

  auto host_path = [](const std::string& path) {
    return Json::array({{{"name", "h"}, {"hostPath", {{"path", path}}}}});
  };
  out.push_back({"K8s pod mounting a sensitive host path",
                 with_spec(pod_create("etc", pod_spec({container("alpine:3.19")})), "volumes",
                           host_path("/etc")),
                 with_spec(pod_create("logs", pod_spec({container("alpine:3.19")})), "volumes",
                           host_path("/var/log/app"))});

  auto with_caps = [](const char* cap) {
    Json c = container("alpine:3.19");
    c["securityContext"] = {{"capabilities", {{"add", {cap}}}}};
    return pod_create("caps", pod_spec({c}));
  };
  out.push_back({"K8s pod with dangerous capabilities created", with_caps("SYS_ADMIN"),
                 with_caps("NET_BIND_SERVICE")});

  out.push_back({"K8s secret read by unexpected user",
                 base_event("get", "secrets", "payments", "db-password", "mallory", 200),
                 base_event("get", "configmaps", "payments", "db-settings", "mallory", 200)});

  out.push_back({"K8s role granting wildcard or escalation rights written",
                 role("clusterroles", "everything", {"*"}),
                 role("clusterroles", "reader", {"get", "list"})});

  out.push_back(
      {"K8s binding to cluster-admin created", binding("cluster-admin"), binding("view")});

  out.push_back(
      {"K8s anonymous request allowed", anonymous("/api/v1/namespaces"), anonymous("/healthz")});

  Json token = base_event("create", "serviceaccounts", "ci", "deployer", "kubernetes-admin", 201);
  token["objectRef"]["subresource"] = "token";
  Json system_token = token;
  system_token["user"]["username"] = "system:kube-controller-manager";
  out.push_back({"K8s service account token requested", token, system_token});

  Json sys_pod = pod_create("miner", pod_spec({container("busybox:1.36")}));
  sys_pod["objectRef"]["namespace"] = "kube-system";
  out.push_back({"K8s workload created in kube-system by a person", sys_pod,
                 pod_create("app", pod_spec({container("busybox:1.36")}))});

  out.push_back({"K8s events deleted",
                 base_event("deletecollection", "events", "default", "", "mallory", 200),
                 base_event("list", "events", "default", "", "mallory", 200)});
  return out;
}

}  // namespace

TEST_CASE(
    "default k8s audit rules: each attack event fires exactly its rule, each neighbour none") {
  DefaultRules r;
  const auto all = cases();
  std::set<std::string> covered;
  for (const auto& c : all) {
    CAPTURE(c.rule);
    CHECK(r.fired(c.attack) == std::set<std::string>{c.rule});
    CHECK(r.fired(c.benign).empty());
    covered.insert(c.rule);
  }
  // Every k8s_audit rule of the default ruleset has its case.
  for (const auto& rule : r.loaded.ruleset.rules)
    if (rule.source == EventSource::K8sAudit) CHECK_MESSAGE(covered.count(rule.name), rule.name);
  CHECK(covered.size() == all.size());
}

TEST_CASE("default rules: every rule carries a MITRE ATT&CK technique and a known priority") {
  DefaultRules r;
  REQUIRE(r.loaded.ruleset.rules.size() >= 60);
  for (const auto& rule : r.loaded.ruleset.rules) {
    CAPTURE(rule.name);
    CHECK(std::any_of(rule.tags.begin(), rule.tags.end(), [](const std::string& t) {
      return t.size() >= 5 && t[0] == 'T' && std::isdigit(static_cast<unsigned char>(t[1]));
    }));
    CHECK(!rule.desc.empty());
  }
}
