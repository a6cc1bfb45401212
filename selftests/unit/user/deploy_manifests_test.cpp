// The Helm chart and the plain Kubernetes manifests, checked
// offline: there is no helm binary in Debian, so the chart's templates are
// kept to a few well-defined constructs that this file renders exactly as
// helm would, and the rendered objects are checked for what a DaemonSet of
// Peregrine must have (privileges, mounts, probes, ConfigMaps) and against
// the binary's real flags and configuration schema.
//
// Constructs: {{ .Values.a.b }}, {{ .Values.a.b | quote }},
// {{ .Release.Name }}, {{ .Release.Namespace }}, and on a line of its own
// {{- toYaml .Values.a | nindent N }}. Anything else is an error.
//
// deploy/kubernetes/peregrine.yaml is the chart rendered with its default
// values (release "peregrine" in namespace "peregrine"); regenerate it with
//   PG_UPDATE_MANIFESTS=1 build/unit-user -tc='deploy manifests*'
#include <doctest/doctest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "user/cli/run.h"
#include "user/config/config.h"

using namespace pg::user;
namespace fs = std::filesystem;

namespace {

const fs::path kChart = "deploy/helm/peregrine";
const fs::path kPlain = "deploy/kubernetes/peregrine.yaml";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

YAML::Node lookup(const YAML::Node& values, const std::string& dotted) {
  YAML::Node n = YAML::Clone(values);
  std::stringstream ss(dotted);
  for (std::string key; std::getline(ss, key, '.');) {
    if (!n.IsMap() || !n[key]) throw std::runtime_error("no value .Values." + dotted);
    n = n[key];
  }
  return n;
}

void emit(YAML::Emitter& out, const YAML::Node& n) {
  if (n.IsMap()) {
    out << YAML::BeginMap;
    for (const auto& kv : n) {
      out << YAML::Key << kv.first.as<std::string>() << YAML::Value;
      emit(out, kv.second);
    }
    out << YAML::EndMap;
  } else if (n.IsSequence()) {
    out << YAML::BeginSeq;
    for (const auto& e : n) emit(out, e);
    out << YAML::EndSeq;
  } else {
    const std::string s = n.as<std::string>();
    if (s.find('\n') != std::string::npos)
      out << YAML::Literal << s;
    else
      out << s;
  }
}

// helm's `toYaml X | nindent N`: a newline, then X as block YAML indented N.
std::string to_yaml_nindent(const YAML::Node& n, size_t indent) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, n);
  std::string text = out.c_str(), res;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    res += "\n" + (line.empty() ? "" : std::string(indent, ' ') + line);
  return res;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string render(std::string text, const YAML::Node& values, const std::string& name,
                   const std::string& ns) {
  // `{{-` trims the whitespace before it, newline included.
  static const std::regex nindent(R"(\s*\{\{- toYaml \.Values\.([\w.]+) \| nindent (\d+) \}\})");
  static const std::regex value(R"(\{\{ \.Values\.([\w.]+)( \| quote)? \}\})");
  std::string out;
  std::smatch m;
  while (std::regex_search(text, m, nindent)) {
    out += m.prefix().str() + to_yaml_nindent(lookup(values, m[1]), std::stoul(m[2]));
    text = m.suffix().str();
  }
  text = out + text;
  out.clear();
  while (std::regex_search(text, m, value)) {
    const std::string v = lookup(values, m[1]).as<std::string>();
    out += m.prefix().str() + (m[2].matched ? quote(v) : v);
    text = m.suffix().str();
  }
  text = out + text;
  for (auto [from, to] : {std::pair<std::string, std::string>{"{{ .Release.Name }}", name},
                          {"{{ .Release.Namespace }}", ns}})
    for (size_t p; (p = text.find(from)) != std::string::npos;) text.replace(p, from.size(), to);
  if (auto p = text.find("{{"); p != std::string::npos)
    throw std::runtime_error("unsupported template construct: " + text.substr(p, 60));
  return text;
}

// Every template, sorted by name, as one multi-document stream.
std::string render_chart(const YAML::Node& values, const std::string& name = "peregrine",
                         const std::string& ns = "peregrine") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kChart / "templates")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files)
    out += "---\n# Source: peregrine/templates/" + f.filename().string() + "\n" +
           render(slurp(f), values, name, ns);
  return out;
}

std::string plain_manifest(const std::string& rendered) {
  return "# Peregrine on Kubernetes: the Helm chart in deploy/helm/peregrine rendered\n"
         "# with its default values. Generated; edit the chart, then run\n"
         "#   PG_UPDATE_MANIFESTS=1 build/unit-user -tc='deploy manifests*'\n"
         "# Apply: kubectl apply -f deploy/kubernetes/peregrine.yaml\n"
         "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: peregrine\n" +
         rendered;
}

std::map<std::string, YAML::Node> by_kind(const std::string& stream) {
  std::map<std::string, YAML::Node> out;
  for (const auto& doc : YAML::LoadAll(stream)) {
    if (!doc.IsMap()) continue;
    const std::string kind = doc["kind"].as<std::string>();
    REQUIRE_MESSAGE(!out.count(kind + "/" + doc["metadata"]["name"].as<std::string>()), kind);
    out[kind + "/" + doc["metadata"]["name"].as<std::string>()] = doc;
  }
  return out;
}

std::set<std::string> strings(const YAML::Node& seq) {
  std::set<std::string> out;
  for (const auto& e : seq) out.insert(e.as<std::string>());
  return out;
}

}  // namespace

TEST_CASE("deploy manifests: the chart renders; the plain manifest is the chart's default render") {
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  const std::string rendered = render_chart(values);
  if (std::getenv("PG_UPDATE_MANIFESTS")) std::ofstream(kPlain) << plain_manifest(rendered);
  CHECK_MESSAGE(slurp(kPlain) == plain_manifest(rendered),
                "deploy/kubernetes/peregrine.yaml is stale: PG_UPDATE_MANIFESTS=1 build/unit-user "
                "-tc='deploy manifests*'");
  auto objs = by_kind(slurp(kPlain));
  CHECK(objs.count("Namespace/peregrine"));
  const YAML::Node chart = YAML::LoadFile((kChart / "Chart.yaml").string());
  CHECK(chart["apiVersion"].as<std::string>() == "v2");
  CHECK(chart["name"].as<std::string>() == "peregrine");

  // The renderer can fail: an unknown construct, a missing value.
  CHECK_THROWS(render("{{ if .Values.x }}", values, "a", "b"));
  CHECK_THROWS(render("{{ .Values.no.such.key }}", values, "a", "b"));
}

TEST_CASE("deploy manifests: the DaemonSet's privileges, mounts, probes and flags are right") {
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  auto objs = by_kind(render_chart(values, "pg", "security"));
  REQUIRE(objs.count("DaemonSet/pg"));
  const YAML::Node pod = objs["DaemonSet/pg"]["spec"]["template"]["spec"];
  CHECK(objs["DaemonSet/pg"]["metadata"]["namespace"].as<std::string>() == "security");

  SUBCASE("no API access: a service account with no role and no token") {
    for (const auto& [key, obj] : objs) CHECK_MESSAGE(key.find("Role") == std::string::npos, key);
    REQUIRE(objs.count("ServiceAccount/pg"));
    CHECK(objs["ServiceAccount/pg"]["automountServiceAccountToken"].as<bool>() == false);
    CHECK(pod["serviceAccountName"].as<std::string>() == "pg");
    CHECK(pod["automountServiceAccountToken"].as<bool>() == false);
  }

  REQUIRE(pod["containers"].size() == 1);
  const YAML::Node c = pod["containers"][0];
  SUBCASE("least privileges: the capabilities that work, nothing privileged") {
    CHECK(pod["hostPID"].as<bool>());
    CHECK_FALSE(pod["hostNetwork"]);
    const YAML::Node sc = c["securityContext"];
    CHECK(sc["privileged"].as<bool>() == false);
    CHECK(sc["allowPrivilegeEscalation"].as<bool>() == false);
    CHECK(sc["readOnlyRootFilesystem"].as<bool>() == true);
    CHECK(strings(sc["capabilities"]["drop"]) == std::set<std::string>{"ALL"});
    CHECK(strings(sc["capabilities"]["add"]) ==
          std::set<std::string>{"BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"});
  }

  SUBCASE("the host is mounted where HOST_ROOT says; the node name is the hostname") {
    std::map<std::string, YAML::Node> env;
    for (const auto& e : c["env"])
      env[e["name"].as<std::string>()] = static_cast<const YAML::Node&>(e);
    CHECK(env["HOST_ROOT"]["value"].as<std::string>() == "/host");
    CHECK(env["FALCO_HOSTNAME"]["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>() ==
          "spec.nodeName");
    std::map<std::string, YAML::Node> volumes;
    for (const auto& v : pod["volumes"])
      volumes[v["name"].as<std::string>()] = static_cast<const YAML::Node&>(v);
    std::map<std::string, std::pair<std::string, bool>> mounts;  // path -> (host path, ro)
    for (const auto& m : c["volumeMounts"]) {
      const std::string name = m["name"].as<std::string>();
      REQUIRE_MESSAGE(volumes.count(name), name);
      const YAML::Node v = volumes[name];
      const std::string source = v["hostPath"] ? v["hostPath"]["path"].as<std::string>()
                                 : v["configMap"]
                                     ? "configmap:" + v["configMap"]["name"].as<std::string>()
                                     : "emptyDir";
      mounts[m["mountPath"].as<std::string>()] = {source,
                                                  m["readOnly"] && m["readOnly"].as<bool>()};
    }
    using M = std::pair<std::string, bool>;
    CHECK(mounts["/host/proc"] == M{"/proc", true});
    CHECK(mounts["/host/etc/passwd"] == M{"/etc/passwd", true});
    CHECK(mounts["/host/etc/group"] == M{"/etc/group", true});
    CHECK(mounts["/host/sys/fs/cgroup"] == M{"/sys/fs/cgroup", true});
    CHECK(mounts["/sys/fs/bpf"] == M{"/sys/fs/bpf", false});
    CHECK(mounts["/sys/kernel/tracing"] == M{"/sys/kernel/tracing", false});
    CHECK(mounts["/etc/peregrine/config"] == M{"configmap:pg-config", true});
    CHECK(mounts["/etc/peregrine/rules.local.d"] == M{"configmap:pg-rules", true});
    CHECK(mounts["/run/peregrine"] == M{"emptyDir", false});  // read-only root elsewhere
  }

  SUBCASE("args are real flags of `peregrine run` and name the mounted configuration") {
    std::vector<std::string> args{"run"};
    for (const auto& a : c["args"]) args.push_back(a.as<std::string>());
    auto parses = [](std::vector<std::string> argv) {
      CLI::App app;
      int exit_code = 0;
      add_run_command(app, exit_code, "peregrine run");
      app.get_subcommand("run")->callback([] {});  // parse, do not run
      std::reverse(argv.begin(), argv.end());      // CLI11 takes a vector last-first
      try {
        app.parse(argv);
        return true;
      } catch (const CLI::ParseError&) {
        return false;
      }
    };
    CHECK(parses(args));
    CHECK_FALSE(parses({"run", "--no-such-flag"}));  // the check can fail
    const auto it = std::find(args.begin(), args.end(), "-c");
    REQUIRE(it != args.end());
    CHECK(*(it + 1) == "/etc/peregrine/config/peregrine.yaml");
  }

  SUBCASE("probes hit /healthz on the metrics port the configuration opens on every address") {
    const int port = values["metrics"]["port"].as<int>();
    CHECK(c["ports"][0]["name"].as<std::string>() == "metrics");
    CHECK(c["ports"][0]["containerPort"].as<int>() == port);
    for (const char* probe : {"livenessProbe", "readinessProbe"}) {
      CHECK(c[probe]["httpGet"]["path"].as<std::string>() == "/healthz");
      CHECK(c[probe]["httpGet"]["port"].as<std::string>() == "metrics");
    }
    REQUIRE(objs.count("Service/pg-metrics"));
    const YAML::Node svc = objs["Service/pg-metrics"];
    CHECK(svc["spec"]["ports"][0]["port"].as<int>() == port);
    CHECK(svc["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>() == "true");
    // The Service selects the DaemonSet's pods.
    for (const auto& kv : svc["spec"]["selector"])
      CHECK(
          objs["DaemonSet/pg"]["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()]
              .as<std::string>() == kv.second.as<std::string>());
  }

  SUBCASE("scheduling: every node, node-critical, with resources") {
    CHECK(pod["tolerations"][0]["operator"].as<std::string>() == "Exists");
    CHECK(pod["priorityClassName"].as<std::string>() == "system-node-critical");
    CHECK(c["resources"]["limits"]["memory"].as<std::string>() == "1Gi");
    CHECK(c["resources"]["requests"]["cpu"].as<std::string>() == "100m");
  }
}

TEST_CASE("deploy manifests: the ConfigMaps hold a configuration the daemon loads and the rules") {
  YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  values["falcosidekick"]["enabled"] = "true";
  values["falcosidekick"]["url"] = "http://sidekick.example:2801/";
  values["rules"]["extra.yaml"] = "- list: extra\n  items: [a, b]\n";
  auto objs = by_kind(render_chart(values, "pg", "security"));
  REQUIRE(objs.count("ConfigMap/pg-config"));
  REQUIRE(objs.count("ConfigMap/pg-rules"));

  const fs::path tmp = fs::temp_directory_path() / ("pg-cm-" + std::to_string(getpid()) + ".yaml");
  std::ofstream(tmp) << objs["ConfigMap/pg-config"]["data"]["peregrine.yaml"].as<std::string>();
  config::LoadOptions lo;
  lo.config_path = tmp.string();
  auto cfg = config::load_config(lo);
  fs::remove(tmp);
  REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().to_string()));
  CHECK(cfg->rules_files ==
        std::vector<std::string>{"/etc/peregrine/rules.d", "/etc/peregrine/rules.local.d"});
  CHECK(cfg->watch_rules_files);
  CHECK(cfg->http_output.enabled);
  CHECK(cfg->http_output.url == "http://sidekick.example:2801/");
  CHECK(cfg->metrics.enabled);
  CHECK(cfg->metrics.address == "0.0.0.0");
  CHECK(cfg->metrics.port == values["metrics"]["port"].as<int>());
  CHECK(cfg->json_output);

  const YAML::Node rules = objs["ConfigMap/pg-rules"]["data"];
  std::set<std::string> keys;
  for (const auto& kv : rules) {
    keys.insert(kv.first.as<std::string>());
    CHECK_NOTHROW(YAML::Load(kv.second.as<std::string>()));
  }
  CHECK(keys == std::set<std::string>{"local_rules.yaml", "extra.yaml"});
  CHECK(rules["extra.yaml"].as<std::string>() == "- list: extra\n  items: [a, b]\n");
}
