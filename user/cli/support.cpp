#include "user/cli/support.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "policy/ruleset.h"
#include "policy/version.h"
#include "user/detector.h"
#include "user/engine/engine.h"
#include "user/version.h"

namespace pg::user {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void log_config_error(const config::ConfigError& e) {
  spdlog::error("{}", e.to_string());
  for (const auto& m : e.more) {
    if (m.warning)
      spdlog::warn("{}", m.to_string());
    else
      spdlog::error("{}", m.to_string());
  }
}

}  // namespace

int dry_run(const DetectorOptions& o) {
  bool ok = true;
  auto cfg = load_detector_config(o);
  std::vector<std::string> rules_paths = o.rules;
  size_t config_warnings = 0;
  if (!cfg) {
    log_config_error(cfg.error());
    ok = false;
  } else {
    rules_paths = cfg->rules_files;
    config_warnings = cfg->warnings.size();
  }
  size_t rules = 0, errors = 0, warnings = 0, files_n = 0;
  if (!rules_paths.empty()) {
    auto files = config::expand_rules_paths(rules_paths);
    if (!files) {
      log_config_error(files.error());
      ok = false;
    } else {
      files_n = files->size();
      auto loaded = policy::load_rules(*files);
      for (const auto& d : loaded.diagnostics.all()) {
        std::string text = policy::render_text(d);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        if (d.is_error())
          spdlog::error("{}", text);
        else
          spdlog::warn("{}", text);
      }
      errors = loaded.diagnostics.error_count();
      warnings = loaded.diagnostics.warning_count();
      rules = loaded.ruleset.rules.size();
      if (!loaded.ok()) ok = false;
      if (cfg && loaded.ok()) {
        // What `run` builds next: append_output fields must bind too.
        auto eng = engine::Engine::build(loaded.ruleset, engine_options(*cfg));
        if (!eng) {
          spdlog::error("{}", eng.error());
          ok = false;
        }
      }
    }
  } else if (cfg) {
    spdlog::error("no rules files: pass -r FILE|DIR or set rules_files");
    ok = false;
  }
  fmt::print(
      "dry run: configuration {} ({} warning(s)); rules: {} rule(s) from {} file(s), {} "
      "error(s), {} warning(s); {}\n",
      cfg ? "OK" : "FAILED", config_warnings, rules, files_n, errors, warnings,
      ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

int print_support(const DetectorOptions& o, const std::string& cmdline) {
  auto cfg = load_detector_config(o);
  if (!cfg) {
    log_config_error(cfg.error());
    return 1;
  }
  nlohmann::ordered_json j;
  j["version"] = kVersion;
  j["engine_info"] = {{"engine_version", policy::kEngineVersion.str()}};
  auto plugins = nlohmann::ordered_json::array();
  for (const char* p : kBuiltinPlugins)
    plugins.push_back({{"name", p}, {"version", policy::builtin_plugin_version(p)->str()}});
  j["plugins"] = plugins;
  utsname u{};
  if (uname(&u) == 0)
    j["system_info"] = {{"sysname", u.sysname},
                        {"nodename", u.nodename},
                        {"release", u.release},
                        {"version", u.version},
                        {"machine", u.machine}};
  j["cmdline"] = cmdline;
  auto config_files = nlohmann::ordered_json::array();
  for (const auto& f : cfg->files)
    config_files.push_back({{"name", f}, {"content", slurp(f)}, {"sha256", file_sha256(f)}});
  j["config_files"] = config_files;
  auto rules = nlohmann::ordered_json::array();
  if (auto files = config::expand_rules_paths(cfg->rules_files))
    for (const auto& f : *files) rules.push_back({{"name", f}, {"sha256", file_sha256(f)}});
  j["rules_files"] = rules;
  std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace pg::user
