#include "user/control/service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "user/detector.h"
#include "user/metrics/resources.h"
#include "user/version.h"

namespace pg::user::control {

namespace {

constexpr auto kAdoptTimeout = std::chrono::seconds(5);

int64_t to_unix_s(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Rules of policy `origin` in `a`'s engine, and their alerts.
std::pair<uint64_t, uint64_t> policy_rules_and_alerts(const ActivePolicy& a, uint32_t origin) {
  uint64_t rules = 0, alerts = 0;
  for (const auto& r : a.engine->rules()) {
    if (r.origin != origin) continue;
    ++rules;
    alerts += r.match_count();
  }
  return {rules, alerts};
}

constexpr size_t kTopCrossings = 5;

// The rules the kernel filter lets the most events through for, most
// first: where an operator looks when the filter leaks.
Json top_crossings(const std::shared_ptr<const ActivePolicy>& cur, size_t n) {
  Json out = Json::array();
  if (!cur) return out;
  std::vector<const engine::CompiledRule*> rules;
  for (const auto& r : cur->engine->rules())
    if (r.kernel_passed_count() > 0) rules.push_back(&r);
  std::sort(rules.begin(), rules.end(),
            [](auto* a, auto* b) { return a->kernel_passed_count() > b->kernel_passed_count(); });
  if (rules.size() > n) rules.resize(n);
  for (const auto* r : rules)
    out.push_back({{"policy", cur->policies[r->origin].name},
                   {"rule", r->rule->name},
                   {"kernel_passed", r->kernel_passed_count()},
                   {"matches", r->match_count()}});
  return out;
}

Json optional_json(const std::optional<uint64_t>& v) { return v ? Json(*v) : Json(nullptr); }

void log_error(const std::string& what, const Error& e) {
  for (const auto& d : e.diagnostics) {
    std::string text = policy::render_text(d);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    spdlog::error("{}", text);
  }
  spdlog::error("{}: {}; the running policy stays", what, e.message);
}

}  // namespace

std::expected<std::unique_ptr<ControlService>, std::string> ControlService::start(
    Detector& detector, const RuntimeStats& stats, ServiceOptions opts) {
  std::unique_ptr<ControlService> s(new ControlService(detector, stats, std::move(opts)));
  auto* self = s.get();
  auto render = [self] { return metrics::render(self->metrics_snapshot()); };
  auto health = [self]() -> std::expected<void, std::string> {
    if (self->stats_.loop_alive()) return {};
    return std::unexpected("the event loop has not turned for 5 seconds");
  };
  const auto& web = s->opts_.webserver;
  const bool web_metrics = web.enabled && web.prometheus_metrics_enabled && s->opts_.metrics;
  if (s->opts_.metrics && !web_metrics) {
    auto m = metrics::MetricsServer::start(s->opts_.metrics_address, s->opts_.metrics_port, render,
                                           health, "/healthz");
    if (!m) return std::unexpected(m.error());
    s->metrics_ = std::move(*m);
    spdlog::info("metrics on http://{}:{}/metrics", s->opts_.metrics_address,
                 s->opts_.metrics_port);
  }
  if (web.enabled) {
    auto w = metrics::MetricsServer::start(
        web.listen_address, web.listen_port,
        web_metrics ? metrics::MetricsServer::Render(render) : metrics::MetricsServer::Render(),
        health, web.k8s_healthz_endpoint,
        {version_text(true), web.ssl_enabled ? web.ssl_certificate : std::string()});
    if (!w) return std::unexpected(w.error() + " (webserver.listen_address / listen_port)");
    s->webserver_ = std::move(*w);
    spdlog::info("webserver on {}://{}:{}{}, /versions{}", web.ssl_enabled ? "https" : "http",
                 web.listen_address, web.listen_port, web.k8s_healthz_endpoint,
                 web_metrics ? " and /metrics" : "");
  }
  s->refresh_digests();
  if (s->opts_.watch_rules_files) {
    // inotify says "look now"; the once-a-second tick still looks anyway
    // (a file reached through a symlink elsewhere, a watch that failed).
    auto w = RulesWatch::start([self] {
      if (auto* srv = self->server_ptr_.load()) srv->wake();
    });
    if (w)
      s->rules_watch_ = std::move(*w);
    else
      spdlog::warn("watch_rules_files: {}; checking the files once a second only", w.error());
    // The baseline is the files as loaded at start, taken before anything
    // can change them unseen (a first tick a second later would take a
    // change made meanwhile as its baseline and never load it).
    s->watch_files();
  }
  auto handler = [self](const Request& r) { return self->handle(r); };
  auto tick = [self](bool woken) { self->tick(woken); };
  auto server = ControlServer::start(s->opts_.socket_path, handler, tick);
  if (!server) {
    spdlog::warn("control socket: {}; the daemon runs without it (SIGHUP still reloads)",
                 server.error());
    server = ControlServer::start("", handler, tick);
    if (!server) return std::unexpected(server.error());
  } else if (!s->opts_.socket_path.empty()) {
    spdlog::info("control socket {}", s->opts_.socket_path);
  }
  s->server_ = std::move(*server);
  s->server_ptr_.store(s->server_.get());
  if (s->rules_watch_) s->server_->wake();  // changes since the baseline
  return s;
}

ControlService::~ControlService() {
  rules_watch_.reset();  // it wakes the server: stop it first
  server_.reset();       // joins the control thread before anything it uses goes
  metrics_.reset();
  webserver_.reset();
}

void ControlService::request_reload() noexcept {
  reload_requested_.store(true);
  server_->wake();
}

void ControlService::reload_config() {
  auto next = opts_.reread_config();
  if (!next) {
    spdlog::error("SIGHUP: the configuration was not reloaded, the running one stays:\n{}",
                  next.error());
    return;
  }
  config::Config& running = opts_.running_config;
  const auto change = config::diff_config(running, *next);
  for (const auto& k : change.restart)
    spdlog::warn("SIGHUP: '{}' changed in the configuration; it takes effect after a restart", k);
  if (change.live.empty()) return;
  spdlog::info("SIGHUP: applying the changed configuration keys: {}", fmt::join(change.live, ", "));
  // The running configuration takes the applied keys only, so keys that
  // wait for a restart are reported again by the next SIGHUP.
  for (const auto& k : change.live) {
    if (auto it = next->key_digests.find(k); it != next->key_digests.end())
      running.key_digests[k] = it->second;
    else
      running.key_digests.erase(k);
  }
  running.rules_files = next->rules_files;
  running.rules_selection = next->rules_selection;
  running.priority = next->priority;
  running.rule_matching = next->rule_matching;
  running.append_output = next->append_output;
  running.static_fields = next->static_fields;
  running.log_level = next->log_level;  // load_detector_config has set it already
  detector_.policies().set_config(engine_options(running), rule_selection(running));
  if (std::find(change.live.begin(), change.live.end(), "rules_files") != change.live.end()) {
    auto r = detector_.policies().load(kDefaultPolicy, running.rules_files);
    if (!r) log_error("SIGHUP: loading the new rules_files failed", r.error());
  }
}

void ControlService::tick(bool) {
  if (reload_requested_.exchange(false)) {
    if (opts_.reread_config) reload_config();
    auto r = detector_.policies().reload();
    refresh_digests();
    if (r)
      spdlog::info("reloaded every policy from its files (generation {})", *r);
    else
      log_error("reload failed", r.error());
  }
  if (opts_.watch_rules_files) watch_files();
}

void ControlService::watch_files() {
  auto cur = detector_.policies().current();
  if (!cur) return;
  std::map<std::string, std::pair<int64_t, std::string>> next;
  for (const auto& p : cur->policies) {
    const int64_t loaded = p.loaded_at.time_since_epoch().count();
    if (rules_watch_) rules_watch_->watch(p.paths);
    std::string sig = rules_signature(p.paths);
    auto it = watched_.find(p.name);
    if (it != watched_.end() && it->second.first == loaded && it->second.second != sig) {
      spdlog::info("rules files of policy '{}' changed; reloading", p.name);
      auto r = detector_.policies().reload(p.name);
      if (r) {
        spdlog::info("policy '{}' reloaded (generation {})", p.name, *r);
        // Once adopted, current() carries the reloaded policy's loaded_at,
        // which the loop below pairs with `sig` (taken before the reload
        // read the files): a change made since is seen on the next tick. A
        // baseline taken later could swallow such a change.
        detector_.policies().wait_adopted(*r, kAdoptTimeout);
      } else
        log_error(fmt::format("reloading policy '{}' failed", p.name), r.error());
    }
    // A failed reload keeps loaded_at: the same broken files are not retried
    // until they change again.
    next[p.name] = {loaded, sig};
  }
  // Pick up the loaded_at of policies reloaded just now on the next tick.
  for (auto& [name, v] : next) {
    auto now = detector_.policies().current();
    if (const Policy* p = now ? now->find(name) : nullptr)
      v.first = p->loaded_at.time_since_epoch().count();
  }
  watched_ = std::move(next);
}

std::vector<std::string> ControlService::attached_programs() const {
  return opts_.attached ? opts_.attached() : std::vector<std::string>{};
}

Json ControlService::changed(uint64_t generation, Json result,
                             const std::vector<std::string>& attached_before) {
  result["generation"] = generation;
  result["active"] = detector_.policies().wait_adopted(generation, kAdoptTimeout);
  if (!result["active"].get<bool>())
    result["note"] =
        "the event loop has not picked the change up yet; it will before its next event";
  // The syscalls the new rules watch: programs attached for them by this
  // change (KernelTablesHook::prepare attaches what is missing before the
  // tables go live), and any still without one, with the reason.
  auto cur = detector_.policies().current();
  if (!cur || cur->generation != generation) return ok_response(std::move(result));
  const auto now = attached_programs();
  const std::set<std::string> attached(now.begin(), now.end()),
      before(attached_before.begin(), attached_before.end());
  const auto types = cur->engine->needed_types();
  std::vector<std::string> added, missing;
  for (const auto& h : all_hooks()) {
    const bool needed =
        cur->engine->needs_all_types() ||
        std::any_of(types.begin(), types.end(), [&](const auto& t) { return h.produces(t); });
    if (!needed) continue;
    const std::string name(h.name);
    if (!attached.count(name))
      missing.push_back(name);
    else if (!before.count(name))
      added.push_back(name);
  }
  if (!added.empty()) result["syscalls_attached"] = added;
  if (!missing.empty()) {
    std::string why;
    if (!opts_.attached) {
      why =
          "the daemon started without syscall rules, so it loaded no syscall programs to add "
          "to; rules on them fire after a restart";
    } else {
      const auto none = opts_.uncaptured ? opts_.uncaptured() : std::vector<std::string>{};
      const bool all_kernel = std::all_of(missing.begin(), missing.end(), [&](const auto& m) {
        return std::find(none.begin(), none.end(), m) != none.end();
      });
      why = all_kernel ? "this kernel has no tracepoint for them, so calls to them are not seen "
                         "(raw_syscall_fallback=true, set at start, catches such calls)"
                       : "their programs could not be attached; see the daemon's log";
    }
    result["syscalls_not_attached"] = missing;
    result["syscalls_not_attached_reason"] = why;
    spdlog::warn("the loaded rules also watch {}, which have no program attached: {}",
                 fmt::join(missing, ", "), why);
  }
  return ok_response(std::move(result));
}

Json ControlService::handle(const Request& r) {
  auto& pm = detector_.policies();
  const std::vector<std::string> programs_before = attached_programs();
  auto fail = [](const Error& e) { return error_response(e); };
  const std::string name = r.args.value("name", "");
  if (r.command == "status") return ok_response(status());
  if (r.command == "policy.list") return ok_response(policy_list());
  if (r.command == "policy.show") return policy_show(name);
  if (r.command == "policy.load") {
    std::vector<std::string> files = r.args["files"].get<std::vector<std::string>>();
    for (const auto& f : files)
      if (!f.starts_with('/'))
        return fail(Error{ErrorCode::InvalidArgument,
                          fmt::format("'{}' is not an absolute path; the daemon does not share "
                                      "the client's working directory",
                                      f),
                          {}});
    // What the new rules ask for and this build cannot see is said out
    // loud; with "strict" (as `rules validate --strict`) any warning
    // refuses the load before anything changes. Loading twice costs a
    // fraction of a second, on a command an operator runs by hand.
    Json gaps = Json::array();
    if (auto pre = load_policy(name, files)) {
      const auto& diags = pre->rules->diagnostics;
      if (r.args.value("strict", false) && diags.warning_count()) {
        Error e{ErrorCode::RulesInvalid,
                fmt::format("policy '{}': {} warning(s) and --strict; nothing was changed", name,
                            diags.warning_count()),
                {}};
        for (const auto& d : diags.all()) e.diagnostics.push_back(d);
        spdlog::warn("control: policy.load '{}' refused: {}", name, e.message);
        return fail(e);
      }
      for (const auto& d : diags.all())
        if (policy::is_gap_warning(d.code)) {
          gaps.push_back(diagnostic_json(d));
          spdlog::warn("control: policy '{}': {}", name, policy::render_text(d));
        }
    }
    auto before = pm.current();
    const bool replaced = before && before->find(name);
    auto gen = pm.load(name, files);
    if (!gen) {
      spdlog::warn("control: policy.load '{}' refused: {}", name, gen.error().message);
      return fail(gen.error());
    }
    spdlog::info("control: policy '{}' {} from {} (generation {})", name,
                 replaced ? "replaced" : "loaded", fmt::join(files, ", "), *gen);
    return changed(*gen, Json{{"policy", name}, {"replaced", replaced}, {"warnings", gaps}},
                   programs_before);
  }
  if (r.command == "policy.unload") {
    auto gen = pm.unload(name);
    if (!gen) return fail(gen.error());
    spdlog::info("control: policy '{}' unloaded (generation {})", name, *gen);
    return changed(*gen, Json{{"policy", name}}, programs_before);
  }
  if (r.command == "policy.reload") {
    auto gen = pm.reload(name);
    if (!gen) {
      spdlog::warn("control: policy.reload refused: {}", gen.error().message);
      return fail(gen.error());
    }
    spdlog::info("control: {} reloaded (generation {})",
                 name.empty() ? "every policy" : "policy '" + name + "'", *gen);
    return changed(*gen, Json{{"policy", name.empty() ? Json(nullptr) : Json(name)}},
                   programs_before);
  }
  if (r.command == "rules.enable" || r.command == "rules.disable") {
    RuleToggle t;
    t.by_tag = r.args.contains("tag");
    t.target = r.args.value(t.by_tag ? "tag" : "rule", "");
    t.enabled = r.command == "rules.enable";
    auto gen = pm.set_enabled(t);
    if (!gen) return fail(gen.error());
    spdlog::info("control: {} {} '{}' (generation {})", t.enabled ? "enabled" : "disabled",
                 t.by_tag ? "rules tagged" : "rule", t.target, *gen);
    auto res = changed(*gen, Json{{t.by_tag ? "tag" : "rule", t.target}, {"enabled", t.enabled}},
                       programs_before);
    if (auto cur = pm.current()) res["result"]["rules_active"] = cur->engine->rule_count();
    return res;
  }
  return fail(Error{ErrorCode::UnknownCommand, "unknown command '" + r.command + "'", {}});
}

Json ControlService::status() const {
  auto cur = detector_.policies().current();
  Json maps = Json::array();
  for (const auto& m : opts_.maps)
    maps.push_back({{"name", m.name}, {"type", m.type}, {"max_entries", m.max_entries}});
  Json drops = Json::object();
  uint64_t kernel_lost = 0;
  for (uint32_t i = 0; i < PG_DROP__COUNT; ++i) {
    const uint64_t n = stats_.kernel_drops[i].load(std::memory_order_relaxed);
    drops[std::string(drop_reason_name(i))] = n;
    kernel_lost += n;
  }
  auto os = detector_.outputs().stats();
  Json sinks = Json::array();
  for (const auto& k : os.sinks)
    sinks.push_back({{"name", k.name},
                     {"delivered", k.delivered},
                     {"failed", k.failed},
                     {"dropped", k.dropped},
                     {"aggregated", k.aggregated},
                     {"queue_depth", k.queue_depth},
                     {"queue_capacity", k.queue_capacity}});
  const uint64_t records = stats_.records.load(std::memory_order_relaxed);
  const uint64_t malformed = stats_.decode_errors.load(std::memory_order_relaxed);
  return Json{
      {"kernel_crossings", top_crossings(cur, kTopCrossings)},
      {"version", kVersion},
      {"pid", int(getpid())},
      {"uptime_s", stats_.uptime_s()},
      {"programs_attached", attached_programs()},
      {"maps", maps},
      {"events",
       {{"received", records},
        {"queued", opts_.queued ? opts_.queued() : uint64_t(0)},
        {"decoded", detector_.events()},
        {"malformed", malformed},
        {"matched", detector_.matched_events()},
        {"per_s", stats_.records_per_s.load(std::memory_order_relaxed)}}},
      {"kernel_drops", drops},
      {"kernel_drops_total", kernel_lost},
      {"alerts_per_s", stats_.alerts_per_s.load(std::memory_order_relaxed)},
      {"drop_alerts", stats_.drop_alerts.load(std::memory_order_relaxed)},
      {"outputs",
       {{"enqueued", os.enqueued},
        {"queue_drops", os.queue_drops},
        {"queue_depth", os.queue_depth},
        {"queue_capacity", os.queue_capacity},
        {"lost", os.total_lost()},
        {"aggregated", os.aggregated},
        {"sinks", sinks}}},
      {"policies", cur ? cur->policies.size() : 0},
      {"rules_active", cur ? cur->engine->rule_count() : 0},
      {"generation", cur ? cur->generation : 0},
      {"rule_load_errors", detector_.policies().load_errors()},
      {"control_socket", opts_.socket_path},
      {"control_refused", server_ ? server_->refused_peers() : 0},
      {"metrics", opts_.metrics ? fmt::format("http://{}:{}/metrics", opts_.metrics_address,
                                              opts_.metrics_port)
                                : ""},
  };
}

Json ControlService::policy_list() const {
  Json out = Json::array();
  auto cur = detector_.policies().current();
  if (!cur) return out;
  const auto* hook = detector_.policies().kernel_hook();
  for (uint32_t i = 0; i < cur->policies.size(); ++i) {
    const Policy& p = cur->policies[i];
    auto [rules, alerts] = policy_rules_and_alerts(*cur, i);
    std::optional<uint64_t> slots, seen, passed;
    if (hook)
      if (auto c = hook->counters(*cur, p.name)) {
        slots = c->slots_used;
        seen = c->seen;
        passed = c->passed;
      }
    out.push_back({{"name", p.name},
                   {"paths", p.paths},
                   {"files", p.files},
                   {"rules_enabled", rules},
                   {"rules_total", p.rules->ruleset.rules.size()},
                   {"kernel_slots", optional_json(slots)},
                   {"kernel_seen", optional_json(seen)},
                   {"kernel_passed", optional_json(passed)},
                   {"alerts", alerts},
                   {"loaded_at", to_unix_s(p.loaded_at)}});
  }
  return out;
}

Json ControlService::policy_show(const std::string& name) const {
  auto cur = detector_.policies().current();
  const Policy* p = cur ? cur->find(name) : nullptr;
  if (!p) return error_response(Error{ErrorCode::NotFound, "no policy named '" + name + "'", {}});
  const uint32_t origin = uint32_t(p - cur->policies.data());
  Json rules = Json::array();
  for (const auto& rule : p->rules->ruleset.rules) {
    const engine::CompiledRule* compiled = nullptr;
    for (const auto& c : cur->engine->rules())
      if (c.origin == origin && c.rule == &rule) compiled = &c;
    rules.push_back({{"name", rule.name},
                     {"priority", policy::priority_name(rule.priority)},
                     {"source", policy::source_name(rule.source)},
                     {"tags", rule.tags},
                     {"enabled", cur->rule_enabled(rule)},
                     {"active", compiled != nullptr},
                     {"matches", compiled ? compiled->match_count() : 0},
                     {"kernel_passed", compiled ? compiled->kernel_passed_count() : 0}});
  }
  Json warnings = Json::array();
  for (const auto& d : p->rules->diagnostics.all())
    if (!d.is_error()) warnings.push_back(diagnostic_json(d));
  auto list = policy_list();
  Json row = list[origin];
  row["rules"] = std::move(rules);
  row["warnings"] = std::move(warnings);
  return ok_response(std::move(row));
}

void ControlService::refresh_digests() {
  std::vector<std::pair<std::string, std::string>> d;
  if (auto cur = detector_.policies().current())
    for (const auto& p : cur->policies)
      for (const auto& f : p.files) d.emplace_back(f, file_sha256(f));
  std::lock_guard lock(digests_mu_);
  rules_digests_ = std::move(d);
}

metrics::Snapshot ControlService::metrics_snapshot() const {
  metrics::Snapshot s;
  s.version = kVersion;
  s.uptime_s = stats_.uptime_s();
  s.records = stats_.records.load(std::memory_order_relaxed);
  s.decode_errors = stats_.decode_errors.load(std::memory_order_relaxed);
  s.decoded = detector_.events();
  s.matched = detector_.matched_events();
  for (uint32_t i = 0; i < PG_DROP__COUNT; ++i)
    s.kernel_drops.emplace_back(std::string(drop_reason_name(i)),
                                stats_.kernel_drops[i].load(std::memory_order_relaxed));
  s.programs_attached = attached_programs().size();
  s.drop_alerts = stats_.drop_alerts.load(std::memory_order_relaxed);
  auto cur = detector_.policies().current();
  if (cur) {
    s.policy_generation = cur->generation;
    for (const auto& r : cur->engine->rules())
      s.rules.push_back({cur->policies[r.origin].name, r.rule->name,
                         std::string(output::priority_name(r.priority)), r.match_count(),
                         static_cast<int>(r.priority),
                         std::string(policy::source_name(r.rule->source)), r.rule->tags});
    for (const auto& row : policy_list()) {
      metrics::PolicySample p;
      p.name = row["name"];
      p.files = row["files"].size();
      p.rules_enabled = row["rules_enabled"];
      p.alerts = row["alerts"];
      if (!row["kernel_slots"].is_null()) p.kernel_slots = row["kernel_slots"].get<uint64_t>();
      if (!row["kernel_seen"].is_null()) {
        p.kernel_seen = row["kernel_seen"].get<uint64_t>();
        s.kernel_seen = s.kernel_seen.value_or(0) + *p.kernel_seen;
      }
      if (!row["kernel_passed"].is_null()) {
        p.kernel_passed = row["kernel_passed"].get<uint64_t>();
        s.kernel_passed = s.kernel_passed.value_or(0) + *p.kernel_passed;
      }
      s.policies.push_back(std::move(p));
    }
  }
  s.rule_load_errors = detector_.policies().load_errors();
  auto os = detector_.outputs().stats();
  s.alerts_enqueued = os.enqueued;
  s.queue_drops = os.queue_drops;
  s.queue_depth = os.queue_depth;
  s.queue_capacity = os.queue_capacity;
  for (const auto& k : os.sinks)
    s.sinks.push_back({k.name, k.delivered, k.failed, k.dropped, k.queue_depth, k.queue_capacity});
  s.control_refused = server_ ? server_->refused_peers() : 0;
  s.resources = detector_.config().metrics.resource_utilization_enabled;
  const auto res = metrics::read_self_resources();
  s.cpu_usage_ratio = res.cpu_usage_ratio;
  s.rss_bytes = res.rss_bytes;
  s.vsz_bytes = res.vsz_bytes;
  s.start_time_ns = res.start_time_ns;
  utsname u{};
  if (uname(&u) == 0) s.kernel_release = u.release;
  {
    std::lock_guard lock(digests_mu_);
    s.rules_files_sha256 = rules_digests_;
  }
  return s;
}

}  // namespace pg::user::control
