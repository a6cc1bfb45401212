// Which event types Falco's stable and incubating rules name, and whether
// this build captures each. A type a rule names but nothing captures makes
// that rule unable to fire; every such type must be listed below with the
// reason, so a gap is a decision on record rather than an accident.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "policy/ruleset.h"
#include "selftests/common/falco_files.h"
#include "user/syscalls/bpf_loader.h"

using namespace pg;

namespace {

// Event types named by rules that this build does not capture, and why.
// (init_module and finit_module are captured: by their tracepoints, or on
// kernels built without them by the raw sys_exit fallback.)
const std::map<std::string, std::string> kNotCaptured = {};

}  // namespace

TEST_CASE("every event type the stable and incubating rules name is captured or listed" *
          PG_NEEDS_FALCO_FILES) {
  std::vector<std::string> files;
  for (const char* f : {"falco_rules.yaml", "falco-incubating_rules.yaml"})
    files.push_back(pg::test::falco_file(f));
  auto loaded = policy::load_rules(files);
  REQUIRE(loaded.ok());

  std::map<std::string, std::set<std::string>> rules_by_type;
  for (const auto& r : loaded.ruleset.rules) {
    if (r.source != policy::EventSource::Syscall || r.event_types.all) continue;
    for (const auto& t : r.event_types.names) rules_by_type[t].insert(r.name);
  }
  const auto types = user::captured_types();
  const std::set<std::string> captured(types.begin(), types.end());

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
  MESSAGE(rules_by_type.size() << " event types named; " << n_captured << " captured, " << n_listed
                               << " listed with a reason" << report);
  CHECK_MESSAGE(unexplained.empty(),
                "types with neither capture nor reason: " << unexplained.size());
}

// The syscalls the coverage issue names as the least a Falco replacement
// captures, whether or not today's official rules use them.
TEST_CASE("every syscall on the coverage list is captured or listed") {
  const char* kList[] = {
      "execve",
      "execveat",
      "open",
      "openat",
      "openat2",
      "creat",
      "socketpair",
      "bind",
      "connect",
      "accept",
      "accept4",
      "listen",
      "socket",
      "sendto",
      "sendmsg",
      "dup",
      "dup2",
      "dup3",
      "rename",
      "renameat",
      "renameat2",
      "unlink",
      "unlinkat",
      "mkdir",
      "mkdirat",
      "rmdir",
      "link",
      "linkat",
      "symlink",
      "symlinkat",
      "chmod",
      "fchmod",
      "fchmodat",
      "setuid",
      "setgid",
      "setresuid",
      "setresgid",
      "setreuid",
      "setregid",
      "capset",
      "ptrace",
      "mount",
      "umount2",
      "unshare",
      "setns",
      "clone",
      "clone3",
      "fork",
      "vfork",
      "prctl",
      "memfd_create",
      "bpf",
      "init_module",
      "finit_module",
      "userfaultfd",
      "chdir",
      "fchdir",
      "kill",
      "tkill",
      "tgkill",
      "process_vm_readv",
      "process_vm_writev",
      // Taking a descriptor out of another process (fd theft).
      "pidfd_getfd",
  };
  const auto types = user::captured_types();
  const std::set<std::string> captured(types.begin(), types.end());
  for (const char* t : kList) {
    INFO(t);
    CHECK((captured.count(t) || kNotCaptured.count(t)));
  }
}
