#include "user/detector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "user/bpf_loader.h"
#include "user/output/from_config.h"

namespace pg::user {

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

std::expected<std::unique_ptr<Detector>, std::string> Detector::create(const DetectorOptions& o) {
  std::unique_ptr<Detector> d(new Detector());
  config::LoadOptions lo;
  lo.config_path = o.config_path;
  lo.overrides = o.overrides;
  lo.rules_paths = o.rules;
  auto cfg = config::load_config(lo);
  if (!cfg) return std::unexpected(cfg.error().to_string());
  d->cfg_ = std::move(*cfg);
  if (o.json) d->cfg_.json_output = true;
  if (o.no_kernel_filter) d->cfg_.kernel_filter = false;

  // Validated keys whose features this build does not have yet: say so
  // rather than silently ignore them.
  if (d->cfg_.metrics.enabled)
    spdlog::warn("metrics.enabled is set, but this build has no metrics endpoint yet; ignored");

  auto files = config::expand_rules_paths(d->cfg_.rules_files);
  if (!files) return std::unexpected(files.error().to_string());
  if (files->empty())
    return std::unexpected(
        "no rules files found; pass -r FILE|DIR or set rules_files in the configuration");
  d->rules_ = policy::load_rules(*files);
  for (const auto& diag : d->rules_.diagnostics.all()) {
    std::string text = policy::render_text(diag);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (diag.is_error())
      spdlog::error("{}", text);
    else
      spdlog::debug("{}", text);
  }
  if (!d->rules_.ok())
    return std::unexpected(fmt::format("rules failed to load ({} errors); nothing was started",
                                       d->rules_.diagnostics.error_count()));
  spdlog::info("loaded {} rules from {} files ({} warnings; --log-level debug shows them)",
               d->rules_.ruleset.rules.size(), files->size(),
               d->rules_.diagnostics.warning_count());

  engine::EngineOptions eo;
  eo.min_priority = d->cfg_.priority;
  eo.all_matches = d->cfg_.rule_matching == config::RuleMatching::All;
  eo.container_fields = d->cfg_.container.alert_fields;
  auto eng = engine::Engine::build(d->rules_.ruleset, eo);
  if (!eng) return std::unexpected(eng.error());
  d->engine_ = std::move(*eng);
  d->filter_ = policy::build_filter_tables(d->rules_.ruleset);
  size_t sharp = 0, syscall_rules = 0;
  for (size_t i = 0; i < d->rules_.ruleset.rules.size(); ++i) {
    if (d->rules_.ruleset.rules[i].source != policy::EventSource::Syscall) continue;
    ++syscall_rules;
    if (d->filter_.halves[i].sharper_than_type()) ++sharp;
  }
  spdlog::info("kernel filter: {} slots for {} syscall rules, {} of them sharper than their "
               "event types",
               d->filter_.slots_used(), syscall_rules, sharp);

  auto out = output::make_dispatcher(d->cfg_, STDOUT_FILENO);
  if (!out) return std::unexpected(out.error());
  d->out_ = std::move(*out);
  return d;
}

void Detector::enable_containers() {
  const auto& c = cfg_.container;
  if (!c.enabled) return;
  container::Options o;
  o.docker_socket = c.docker_socket;
  o.podman_socket = c.podman_socket;
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

void Detector::log_rule_matches() const {
  std::vector<const engine::CompiledRule*> hit;
  for (const auto& r : engine_->rules())
    if (r.matches) hit.push_back(&r);
  std::sort(hit.begin(), hit.end(), [](auto* a, auto* b) { return a->matches > b->matches; });
  for (const auto* r : hit) spdlog::info("rule matched {} times: {}", r->matches, r->rule->name);
}

std::vector<std::string> Detector::needed_hooks() const {
  std::vector<std::string> out;
  std::set<std::string> needed;
  for (const auto& t : engine_->needed_types()) needed.insert(t);
  for (const auto& h : all_hooks()) {
    if (h.lifecycle) continue;
    if (engine_->needs_all_types() || needed.count(std::string(h.name))) out.emplace_back(h.name);
  }
  return out;
}

}  // namespace pg::user
