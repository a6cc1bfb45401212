#include "user/detector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "user/host.h"
#include "user/log_level.h"
#include "user/output/from_config.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user {

std::string host_name() { return node_hostname(); }

std::expected<config::Config, config::ConfigError> load_detector_config(const DetectorOptions& o) {
  config::LoadOptions lo;
  lo.config_path = o.config_path;
  lo.overrides = o.overrides;
  lo.rules_paths = o.rules;
  lo.strict = o.strict_config;
  auto cfg = config::load_config(lo);
  if (!cfg) return cfg;
  if (o.json) cfg->json_output = true;
  if (o.no_kernel_filter) cfg->kernel_filter = false;
  if (!log_level_from_cli())
    if (auto l = parse_log_level(cfg->log_level)) spdlog::set_level(*l);
  for (const auto& w : cfg->warnings) spdlog::warn("{}", w.to_string());
  return cfg;
}

engine::EngineOptions engine_options(const config::Config& cfg) {
  engine::EngineOptions eo;
  eo.min_priority = cfg.priority;
  eo.all_matches = cfg.rule_matching == config::RuleMatching::All;
  eo.container_fields = cfg.container.alert_fields;
  for (const auto& a : cfg.append_output) {
    engine::ExtraOutput x;
    x.source = a.source;
    x.rule = a.rule;
    x.tags = a.tags;
    x.format = a.extra_output;
    x.formatted_fields = a.formatted_fields;
    x.raw_fields = a.raw_fields;
    x.suggested = a.suggested_output;
    eo.extra_outputs.push_back(std::move(x));
  }
  eo.static_fields = cfg.static_fields;
  return eo;
}

std::vector<control::RuleToggle> rule_selection(const config::Config& cfg) {
  std::vector<control::RuleToggle> out;
  for (const auto& s : cfg.rules_selection) {
    if (!s.rule.empty()) out.push_back({false, s.rule, s.enable, true});
    if (!s.tag.empty()) out.push_back({true, s.tag, s.enable, false});
  }
  return out;
}

std::expected<std::unique_ptr<Detector>, std::string> Detector::create(const DetectorOptions& o) {
  auto cfg = load_detector_config(o);
  if (!cfg) {
    std::string all = cfg.error().to_string();
    for (const auto& m : cfg.error().more) all += "\n" + m.to_string();
    return std::unexpected(all);
  }
  std::unique_ptr<Detector> d(new Detector(engine_options(*cfg)));
  d->cfg_ = std::move(*cfg);
  d->policies_.set_selection(rule_selection(d->cfg_));

  auto files = config::expand_rules_paths(d->cfg_.rules_files);
  if (!files) return std::unexpected(files.error().to_string());
  if (files->empty())
    return std::unexpected(
        "no rules files found; pass -r FILE|DIR or set rules_files in the configuration");
  // The startup rules are the policy named "default"; the control socket
  // and SIGHUP reload it from the same paths.
  auto loaded = d->policies_.load(control::kDefaultPolicy, d->cfg_.rules_files);
  if (!loaded) {
    for (const auto& diag : loaded.error().diagnostics) {
      std::string text = policy::render_text(diag);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      spdlog::error("{}", text);
    }
    if (loaded.error().code == control::ErrorCode::RulesInvalid)
      return std::unexpected(fmt::format("rules failed to load ({} errors); nothing was started",
                                         loaded.error().diagnostics.size()));
    return std::unexpected(loaded.error().message);
  }
  const auto& active = d->policies_.adopt_pending();
  const auto& rules = *active.policies.front().rules;
  for (const auto& diag : rules.diagnostics.all()) {
    std::string text = policy::render_text(diag);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    // What this build cannot see is said out loud; style warnings are not.
    if (policy::is_gap_warning(diag.code))
      spdlog::warn("{}", text);
    else
      spdlog::debug("{}", text);
  }
  spdlog::info("loaded {} rules from {} files ({} warnings; --log-level debug shows them)",
               rules.ruleset.rules.size(), files->size(), rules.diagnostics.warning_count());

  auto out = output::make_dispatcher(d->cfg_, STDOUT_FILENO);
  if (!out) return std::unexpected(out.error());
  d->out_ = std::move(*out);
  return d;
}

void Detector::enable_containers() {
  const auto& c = cfg_.container;
  if (!c.enabled) return;
  container::Options o;
  // Sockets are host paths: under HOST_ROOT when the daemon runs in a container.
  auto on_host = [](const std::string& s) { return s.empty() ? s : host_path(s); };
  // Falco's `engines.<name>.sockets` lists replace the single-socket keys;
  // `enabled: false` asks no socket of that engine.
  auto sockets = [&](const config::ContainerEngine& e, const std::string& single) {
    std::vector<std::string> out;
    if (!e.enabled) return out;
    for (const auto& s : e.sockets_set ? e.sockets : std::vector<std::string>{single})
      if (!s.empty()) out.push_back(on_host(s));
    return out;
  };
  o.docker_sockets = sockets(c.docker_engine, c.docker_socket);
  o.podman_sockets = sockets(c.podman_engine, c.podman_socket);
  o.containerd_sockets = sockets(c.containerd_engine, c.containerd_socket);
  // Falco's `cri` engine lists CRI sockets. containerd's answers containerd's
  // own API as well, so those are asked that way; CRI-O's API is not spoken
  // (its containers' metadata comes from disk).
  for (const auto& s : sockets(c.cri_engine, ""))
    if (s.find("crio") == std::string::npos &&
        std::find(o.containerd_sockets.begin(), o.containerd_sockets.end(), s) ==
            o.containerd_sockets.end())
      o.containerd_sockets.push_back(s);
  o.containerd_namespaces = c.containerd_namespaces;
  o.disk = c.disk_metadata;
  o.disk_paths.runc_roots.clear();
  for (const auto& d : c.runc_state_dirs) o.disk_paths.runc_roots.push_back(on_host(d));
  o.disk_paths.storage_root = on_host(c.containers_storage);
  o.hold = std::chrono::milliseconds(c.hold_ms);
  o.request_timeout = std::chrono::milliseconds(c.request_timeout_ms);
  o.ttl = std::chrono::seconds(c.cache_ttl_s);
  containers_ = std::make_unique<container::Enricher>(std::move(o));
  containers_->start();
}

void Detector::release_held(CgroupMap& cgroups, std::string_view hostname, bool all) {
  if (!containers_) return;
  containers_->release([&](const Event& e, const ProcessTable& procs,
                           uint64_t num) { evaluate(e, procs, cgroups, hostname, num); },
                       all);
}

void Detector::judge_images(const Event* e, const ProcessTable& procs) {
  auto& active = policies_.adopt_pending();
  const engine::Engine& eng = *active.engine;
  if (active.generation != images_judged_) {
    images_judged_ = active.generation;
    // The kernel ignores verdicts of older tables: judge every image
    // again, once per image (forked children share their parent's).
    std::unordered_set<uint64_t> done;
    procs.for_each([&](const Process& p) {
      if (p.image == 0 || !done.insert(p.image).second) return;
      Event exec;
      exec.kind = EventKind::Exec;
      exec.task.tgid = exec.task.tid = p.pid;
      exec.task.comm = p.comm;
      if (auto v = eng.image_verdict(engine::EventView{exec, procs, &p})) image_sink_(p.image, *v);
    });
  }
  if (!e || e->kind != EventKind::Exec || e->image == 0) return;
  if (auto v = eng.image_verdict(engine::EventView{*e, procs, procs.find(e->task.tgid)}))
    image_sink_(e->image, *v);
}

void Detector::log_rule_matches() {
  std::vector<const engine::CompiledRule*> hit;
  const auto& eng = *policies_.adopt_pending().engine;
  for (const auto& r : eng.rules())
    if (r.matches) hit.push_back(&r);
  std::sort(hit.begin(), hit.end(), [](auto* a, auto* b) { return a->matches > b->matches; });
  for (const auto* r : hit) spdlog::info("rule matched {} times: {}", r->matches, r->rule->name);
}

std::vector<std::string> Detector::needed_hooks() {
  return pg::user::needed_hooks(*policies_.adopt_pending().engine);
}

std::vector<std::string> needed_hooks(const engine::Engine& eng) {
  std::vector<std::string> out;
  const auto needed = eng.needed_types();
  for (const auto& h : all_hooks()) {
    if (h.lifecycle) continue;
    if (eng.needs_all_types() ||
        std::any_of(needed.begin(), needed.end(), [&](const auto& t) { return h.produces(t); }))
      out.emplace_back(h.name);
  }
  return out;
}

}  // namespace pg::user
