#include "default_rules.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

namespace pg::e2e::defaults {

std::vector<std::string> daemon_args(const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"run", "-r",        "rules", "--json",
                                "-c",  "/dev/null", "-o",    "rule_matching=all"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::unique_ptr<Daemon> start_daemon(const std::vector<std::string>& args) {
  auto d = std::make_unique<Daemon>(args, "");
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline &&
         d->stderr_text().find("; ready") == std::string::npos && d->running())
    std::this_thread::sleep_for(50ms);
  REQUIRE_MESSAGE(d->stderr_text().find("; ready") != std::string::npos,
                  "peregrine did not become ready:\n"
                      << d->stderr_text());
  return d;
}

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void write_file(const std::string& path, const std::string& text, bool exec) {
  std::ofstream(path) << text;
  if (exec) chmod(path.c_str(), 0755);
}

std::vector<Json> alerts_in(const std::vector<std::string>& lines) {
  std::vector<Json> out;
  for (const auto& l : lines) {
    Json j = Json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.contains("rule")) continue;
    const std::string src = j.value("source", "");
    if (src == "syscall" || src == "k8s_audit") out.push_back(std::move(j));
  }
  return out;
}

namespace {

bool output_has(const Json& j, const std::string& rule, const std::string& marker) {
  return j.value("rule", "") == rule && j.value("output", "").find(marker) != std::string::npos;
}

}  // namespace

int run_table(Daemon& d, const std::vector<RuleCase>& cases, const Barrier& barrier,
              const std::string& benign_phase, const std::string& attack_phase) {
  for (const auto& c : cases)
    if (!c.benign.empty()) sh(c.benign);
  if (!benign_phase.empty()) sh(benign_phase);
  sh(barrier.command);
  auto is_barrier = [&](const Json& j) { return output_has(j, barrier.rule, barrier.marker); };
  if (!d.wait_for(is_barrier, 20s)) {
    std::string seen;
    for (const auto& j : alerts_in(d.stdout_lines())) seen += "\n  " + j.value("output", "");
    FAIL("the barrier alert did not arrive; alerts:" << seen << "\n" << d.stderr_text());
  }

  // Phase 1: nothing of the default ruleset may have fired.
  for (const auto& j : alerts_in(d.stdout_lines())) {
    if (is_barrier(j)) break;
    CHECK_MESSAGE(
        false, "a benign action raised '" << j.value("rule", "") << "': " << j.value("output", ""));
  }

  // Phase 2: every attack raises its rule.
  for (const auto& c : cases) sh(c.attack);
  if (!attack_phase.empty()) sh(attack_phase);
  int fired = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (const auto& c : cases) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto a = d.wait_for([&](const Json& j) { return output_has(j, c.rule, c.marker); },
                        std::max(left, std::chrono::milliseconds(200)));
    if (a) {
      ++fired;
      continue;
    }
    std::string seen;
    for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == c.rule; }))
      seen += "\n  " + j.value("output", "");
    std::string near;
    for (const auto& j : d.all([&](const Json& j) {
           return j.value("output", "").find(c.marker) != std::string::npos;
         }))
      near += "\n  " + j.value("rule", "") + ": " + j.value("output", "");
    CHECK_MESSAGE(false, "'" << c.rule << "' did not fire for: " << c.attack
                             << (seen.empty() ? "" : "\nits alerts:" + seen)
                             << (near.empty() ? "" : "\nalerts naming " + c.marker + ":" + near));
  }
  MESSAGE("default rules: " << fired << " of " << cases.size() << " attacks fired their rule");
  return fired;
}

}  // namespace pg::e2e::defaults
