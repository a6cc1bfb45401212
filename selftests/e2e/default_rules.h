// Shared by the default-ruleset tests (default_rules_*_test.cpp): one
// daemon with rules/ loaded judges a whole table of {rule, attack, benign
// neighbour}. Every benign action runs first and the whole ruleset must stay
// quiet for them; a barrier alert closes that phase; then every attack runs
// and each must raise its rule.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "podman.h"

namespace pg::e2e::defaults {

struct RuleCase {
  std::string rule;
  std::string attack;  // shell command (sh -c), the real action
  std::string benign;  // shell command that must raise nothing at all
  std::string marker;  // text the attack's alert output contains
};

// `peregrine run` with the default ruleset (rules/), every matching rule
// alerting, plus `extra` arguments.
std::vector<std::string> daemon_args(const std::vector<std::string>& extra = {});

// Start `peregrine ARGS...` and wait up to 90 s for its ready line: loading
// and verifying the programs for the whole default ruleset takes longer
// than the harness's usual 20 s on a busy machine. Fails the test if the
// daemon does not become ready.
std::unique_ptr<Daemon> start_daemon(const std::vector<std::string>& args);

// sh -c CMD; its exit status (-1 if it did not exit normally).
int sh(const std::string& cmd);

// Write `text` to `path` (mode 0755 when exec).
void write_file(const std::string& path, const std::string& text, bool exec = false);

// Alerts of the default ruleset (source syscall or k8s_audit) in `lines`.
std::vector<Json> alerts_in(const std::vector<std::string>& lines);

// Runs the table against a ready daemon: `benign_phase` (run after each
// case's benign command, e.g. container actions), then the barrier command,
// whose alert (rule `barrier_rule`, output containing `barrier_marker`)
// closes the benign phase, then the attacks and `attack_phase`. Checks
// that nothing fired before the barrier and that every attack fired its
// rule. Returns the number of cases whose alert arrived.
struct Barrier {
  std::string command, rule, marker;
};
int run_table(Daemon& d, const std::vector<RuleCase>& cases, const Barrier& barrier,
              const std::string& benign_phase = "", const std::string& attack_phase = "");

// podman as the container tests run it, and their busybox-static image.
using podman::ensure_busybox_image;
using podman::kPodman;
inline const std::string& kBusyboxImage = podman::kImage;

}  // namespace pg::e2e::defaults
