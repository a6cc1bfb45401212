// Which event types Falco's stable and incubating rules name, and whether
// this build captures each. A type a rule names but nothing captures makes
// that rule unable to fire; every such type must be listed below with the
// reason, so a gap is a decision on record rather than an accident.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "policy/ruleset.h"
#include "user/bpf_loader.h"

using namespace pg;

namespace {

const char* kRulesDir = "../shared/falco-rules/";

// Event types named by rules that this build does not capture, and why.
const std::map<std::string, std::string> kNotCaptured = {
    // Every successful exec is reported as "execve" (Falco's name for the
    // usual one): the exec tracepoint does not say which syscall it was, and
    // the rules name both together (spawned_process).
    {"execveat", "reported as execve"},
    // Kernels built without module support (CONFIG_MODULES off, as here)
    // have no tracepoints for these; there is nothing to load either.
    {"init_module", "no tracepoint without CONFIG_MODULES"},
    {"finit_module", "no tracepoint without CONFIG_MODULES"},
};


}  // namespace

TEST_CASE("every event type the stable and incubating rules name is captured or listed") {
  std::vector<std::string> files;
  for (const char* f : {"falco_rules.yaml", "falco-incubating_rules.yaml"})
    files.push_back(std::string(kRulesDir) + f);
  auto loaded = policy::load_rules(files);
  REQUIRE(loaded.ok());

  std::map<std::string, std::set<std::string>> rules_by_type;
  for (const auto& r : loaded.ruleset.rules) {
    if (r.source != policy::EventSource::Syscall || r.event_types.all) continue;
    for (const auto& t : r.event_types.names) rules_by_type[t].insert(r.name);
  }
  const auto hooks = user::hook_names();
  const std::set<std::string> captured(hooks.begin(), hooks.end());

  std::string report;
  size_t n_captured = 0, n_listed = 0;
  std::vector<std::string> unexplained;
  for (const auto& [type, rules] : rules_by_type) {
    std::string status;
    if (captured.count(type)) {
      status = "captured";
      ++n_captured;
      CHECK_MESSAGE(!kNotCaptured.count(type), type << " is captured but listed as not");
    } else if (auto it = kNotCaptured.find(type); it != kNotCaptured.end()) {
      status = "not captured: " + it->second;
      ++n_listed;
    } else {
      status = "NOT CAPTURED AND NOT LISTED";
      unexplained.push_back(type);
    }
    report += "\n  " + type + " (" + std::to_string(rules.size()) + " rules): " + status;
  }
  MESSAGE(rules_by_type.size() << " event types named; " << n_captured << " captured, "
                               << n_listed << " listed with a reason" << report);
  CHECK_MESSAGE(unexplained.empty(), "types with neither capture nor reason: "
                                         << unexplained.size());
}
