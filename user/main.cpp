// peregrine: the daemon and its CLI in one binary.
#include <spdlog/cfg/helpers.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "user/cli/control.h"
#include "user/cli/policy.h"
#include "user/cli/rules.h"
#include "user/cli/run.h"
#include "user/cli/support.h"
#include "user/cli/trace.h"
#include "user/config/config.h"
#include "user/log_level.h"
#include "user/version.h"

int main(int argc, char** argv) {
  // Logs go to stderr so stdout carries only events and alerts.
  auto logger = spdlog::stderr_color_mt("peregrine");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"Peregrine: runtime threat detection with Falco rules and eBPF filters",
               "peregrine"};
  bool version = false, version_json = false;
  app.add_flag("--version", version,
               "Print Peregrine's version, the rules-engine version and the built-in plugins' "
               "versions, and exit");
  app.add_flag("--json", version_json, "With --version: print it as JSON");
  std::string log_level;
  app.add_option(
         "--log-level", log_level,
         std::string("Log level, overriding the config's log_level: ") + pg::user::kLogLevelWords)
      ->check([](const std::string& v) -> std::string {
        if (pg::user::parse_log_level(v)) return {};
        return "'" + v + "' is not a log level; use one of: " + pg::user::kLogLevelWords;
      });
  app.require_subcommand(0, 1);
  // Global options after the subcommand too (`peregrine run --log-level
  // debug`), as the messages that suggest them write them.
  app.fallthrough();
  app.parse_complete_callback([&] {
    if (!log_level.empty()) {
      spdlog::set_level(*pg::user::parse_log_level(log_level));
      pg::user::log_level_from_cli() = true;
    }
  });

  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  int exit_code = 0;
  pg::user::add_run_command(app, exit_code, cmdline);
  pg::user::add_replay_command(app, exit_code);
  pg::user::add_trace_command(app, exit_code);
  auto* rules = pg::user::add_rules_commands(app);
  pg::user::add_control_commands(app, rules);
  pg::user::add_policy_explain_command(app);
  try {
    app.parse(argc, argv);
    if (version) {
      // As Falco: JSON when asked, or when the configuration says json_output.
      if (!version_json)
        if (auto cfg = pg::user::config::load_config({})) version_json = cfg->json_output;
      std::fputs(pg::user::version_text(version_json).c_str(), stdout);
      if (version_json) std::fputs("\n", stdout);
      return 0;
    }
    if (app.get_subcommands().empty()) throw CLI::RequiredError("A subcommand");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
