// peregrine: the daemon and its CLI in one binary.
#include <spdlog/cfg/helpers.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "user/cli_control.h"
#include "user/cli_policy.h"
#include "user/cli_rules.h"
#include "user/cli_run.h"
#include "user/cli_trace.h"
#include "user/version.h"

int main(int argc, char** argv) {
  // Logs go to stderr so stdout carries only events and alerts.
  auto logger = spdlog::stderr_color_mt("peregrine");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"Peregrine: runtime threat detection with Falco rules and eBPF filters",
               "peregrine"};
  app.set_version_flag("--version", std::string("peregrine ") + pg::user::kVersion);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.require_subcommand(1);
  app.parse_complete_callback([&] { spdlog::set_level(spdlog::level::from_str(log_level)); });

  int exit_code = 0;
  pg::user::add_run_command(app, exit_code);
  pg::user::add_replay_command(app, exit_code);
  pg::user::add_trace_command(app, exit_code);
  auto* rules = pg::user::add_rules_commands(app);
  pg::user::add_control_commands(app, rules);
  pg::user::add_policy_explain_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
