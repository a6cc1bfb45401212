// What a SIGHUP can apply of a changed configuration. Falco restarts itself
// on SIGHUP (and on watch_config_files), so every key changes; Peregrine
// keeps running and never drops an event, so it applies live only what it
// can switch atomically with the rules: the rules files and the rule
// selection, the engine options alerts are built with, and the log level.
// Everything else (outputs, the kernel side, listeners) is reported as
// needing a restart and keeps its running value.
#include <algorithm>
#include <array>

#include "user/config/config.h"

namespace pg::user::config {

namespace {
constexpr std::array<std::string_view, 7> kLive = {
    "rules_files",   "rules",         "priority",  "rule_matching",
    "append_output", "static_fields", "log_level",
};
}  // namespace

bool reloadable_key(std::string_view key) {
  return std::find(kLive.begin(), kLive.end(), key) != kLive.end();
}

ConfigChange diff_config(const Config& running, const Config& next) {
  ConfigChange c;
  std::vector<std::string> keys;
  for (const auto& [k, _] : running.key_digests) keys.push_back(k);
  for (const auto& [k, _] : next.key_digests) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& k : keys) {
    auto a = running.key_digests.find(k);
    auto b = next.key_digests.find(k);
    bool same =
        a != running.key_digests.end() && b != next.key_digests.end() && a->second == b->second;
    // -r on the command line replaces rules_files: compare what is used.
    if (k == "rules_files") same = running.rules_files == next.rules_files;
    if (same) continue;
    (reloadable_key(k) ? c.live : c.restart).push_back(k);
  }
  if (running.rules_files != next.rules_files &&
      std::find(c.live.begin(), c.live.end(), "rules_files") == c.live.end())
    c.live.push_back("rules_files");
  return c;
}

}  // namespace pg::user::config
