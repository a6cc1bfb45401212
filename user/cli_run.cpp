#include "user/cli_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <set>

#include "policy/ruleset.h"
#include "user/config/config.h"
#include "user/engine/engine.h"
#include "user/output/from_config.h"
#include "user/pipeline.h"

namespace pg::user {

namespace {

struct RunOptions {
  std::optional<std::string> config_path;
  std::vector<std::string> rules;
  std::vector<std::string> overrides;
  bool json = false;
};

std::atomic<bool> g_reopen{false};
void on_sighup(int) { g_reopen.store(true); }

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Load and compile the rules; every diagnostic is printed, errors fail.
std::expected<policy::LoadResult, std::string> load_rules(const config::Config& cfg) {
  auto files = config::expand_rules_paths(cfg.rules_files);
  if (!files) return std::unexpected(files.error().to_string());
  if (files->empty())
    return std::unexpected(
        "no rules files found; pass -r FILE|DIR or set rules_files in the configuration");
  auto result = policy::load_rules(*files);
  for (const auto& d : result.diagnostics.all()) {
    std::string text = policy::render_text(d);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (d.is_error())
      spdlog::error("{}", text);
    else
      spdlog::debug("{}", text);
  }
  if (!result.ok())
    return std::unexpected(fmt::format("rules failed to load ({} errors); nothing was started",
                                       result.diagnostics.error_count()));
  spdlog::info("loaded {} rules from {} files ({} warnings; --log-level debug shows them)",
               result.ruleset.rules.size(), files->size(), result.diagnostics.warning_count());
  return result;
}

// The syscall hooks the loaded rules need, among those this build has.
std::vector<std::string> hooks_for(const engine::Engine& eng) {
  std::vector<std::string> out;
  std::set<std::string> needed;
  for (const auto& t : eng.needed_types()) needed.insert(t);
  for (const auto& h : all_hooks()) {
    if (h.lifecycle) continue;
    if (eng.needs_all_types() || needed.count(std::string(h.name))) out.emplace_back(h.name);
  }
  return out;
}

int run_daemon(const RunOptions& o) {
  config::LoadOptions lo;
  lo.config_path = o.config_path;
  lo.overrides = o.overrides;
  lo.rules_paths = o.rules;
  auto cfg = config::load_config(lo);
  if (!cfg) {
    spdlog::error("{}", cfg.error().to_string());
    return 1;
  }
  if (o.json) cfg->json_output = true;

  auto rules = load_rules(*cfg);
  if (!rules) {
    spdlog::error("{}", rules.error());
    return 1;
  }
  engine::EngineOptions eo;
  eo.min_priority = cfg->priority;
  eo.all_matches = cfg->rule_matching == config::RuleMatching::All;
  auto eng = engine::Engine::build(rules->ruleset, eo);
  if (!eng) {
    spdlog::error("{}", eng.error());
    return 1;
  }
  auto dispatcher = output::make_dispatcher(*cfg, STDOUT_FILENO);
  if (!dispatcher) {
    spdlog::error("{}", dispatcher.error());
    return 1;
  }

  LoadOptions load;
  load.syscalls = hooks_for(**eng);
  load.ringbuf_bytes = uint32_t(cfg->ring_buffer_size_mb) << 20;
  auto started = Pipeline::start(load);
  if (!started) {
    spdlog::error("{}", started.error());
    return 1;
  }
  Pipeline& pipeline = **started;
  (*dispatcher)->start();

  struct sigaction sa{};
  sa.sa_handler = on_sighup;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  auto& stop = install_stop_signals();

  spdlog::info("{} rules active; {} programs attached ({}); ready", (*eng)->rule_count(),
               pipeline.attached().size(), fmt::join(pipeline.attached(), ", "));
  uint64_t num = 0;
  const std::string hostname = host_name();
  engine::Engine& engine = **eng;
  output::Dispatcher& out = **dispatcher;
  pipeline.run(
      stop,
      [&](const Event& e, const ProcessTable& procs) {
        engine::EventView view{e, procs, procs.find(e.task.tgid), ++num, hostname};
        engine.process(view, [&](output::Alert&& a) { out.enqueue(std::move(a)); });
      },
      [&] {
        if (g_reopen.exchange(false)) {
          spdlog::info("SIGHUP: reopening outputs");
          out.reopen();
        }
      });

  out.stop();
  const auto& st = pipeline.stats();
  uint64_t lost = 0;
  for (auto d : st.kernel_drops) lost += d;
  auto os = out.stats();
  spdlog::info("stopped: {} records received, {} lost in the kernel, {} malformed; {} alerts "
               "queued, {} lost in outputs",
               st.records, lost, st.decode_errors, os.enqueued, os.total_lost());
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run the detector in the foreground");
  cmd->add_option_function<std::string>(
      "-c,--config", [o](const std::string& p) { o->config_path = p; },
      "Configuration file (default /etc/peregrine/peregrine.yaml)");
  cmd->add_option("-r,--rules", o->rules, "Rules file or directory (repeatable)");
  cmd->add_option("-o,--option", o->overrides, "Override a configuration key: key.path=value");
  cmd->add_flag("--json", o->json, "Alerts on stdout as Falco JSON");
  cmd->callback([o, &exit_code] { exit_code = run_daemon(*o); });
}

}  // namespace pg::user
