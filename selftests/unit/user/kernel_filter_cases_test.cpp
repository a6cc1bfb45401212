// Focused cases of the kernel filter: what particular conditions lower to
// and how the native evaluation judges chosen events (the random
// differential is in kernel_filter_diff_test.cpp).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "policy/filter_tables.h"
#include "selftests/common/falco_files.h"
#include "selftests/unit/user/kernel_filter_rig.h"
#include "selftests/unit/user/native_filter.h"
#include "user/config/config.h"

using namespace pg;
using pg::test::read_files;
using pg::test::Rig;

TEST_CASE("kernel filter: every default rule is sharper in the kernel than its event types") {
  auto paths = user::config::expand_rules_paths({"rules"});
  REQUIRE(paths);
  REQUIRE(paths->size() >= 8);
  auto files = read_files(*paths);
  Rig rig(files);
  policy::NativeFilter native(rig.tables);
  // Every rule of ours gets a kernel half sharper than its event types.
  // (Kubernetes audit rules have no kernel half.)
  size_t syscall_rules = 0;
  for (size_t i = 0; i < rig.loaded.ruleset.rules.size(); ++i) {
    if (rig.loaded.ruleset.rules[i].source != policy::EventSource::Syscall) continue;
    ++syscall_rules;
    CHECK_MESSAGE(rig.tables.halves[i].sharper_than_type(), rig.loaded.ruleset.rules[i].name);
  }
  CHECK(syscall_rules >= 60);
}

TEST_CASE("kernel filter: container.id lowers to the cgroup's container-or-host") {
  const char* rules = R"(
- macro: container
  condition: (container.id != host)
- rule: in a container
  desc: d
  condition: evt.type = openat and container
  output: x
  priority: WARNING
- rule: on the host
  desc: d
  condition: evt.type = openat and not container
  output: x
  priority: WARNING
- rule: one container
  desc: d
  condition: evt.type = openat and container.id = 0123456789ab
  output: x
  priority: WARNING
- rule: not one container
  desc: d
  condition: evt.type = openat and container.id != 0123456789ab
  output: x
  priority: WARNING
)";
  Rig rig(std::vector<policy::InputFile>{{"c.yaml", rules}});
  auto clause = [&](size_t i) { return policy::to_string(rig.tables.halves[i].clauses.at(0)); };
  // (Each clause starts with its event type: "syscall in {openat} ...".)
  CHECK(clause(0).find(" and container in {container}") != std::string::npos);
  CHECK(clause(1).find(" and container in {host}") != std::string::npos);
  CHECK(clause(2).find(" and container in {container}") != std::string::npos);
  CHECK(clause(3).find("container") == std::string::npos);  // the host, or another container

  // The kernel's verdicts: unknown cgroups narrow nothing.
  policy::NativeFilter native(rig.tables);
  auto passes = [&](size_t rule, uint8_t ct) {
    pg_filter_event fe{};
    fe.kind = PG_FK_OPENAT;
    fe.container = ct;
    fe.cgroup_id = 100 + ct;  // one cgroup per class, as the kernel tells them apart
    pg_slots s{};
    return native.eval(fe, "/x", s) && pg_slots_meet(&s, &rig.tables.rule_slots[rule]);
  };
  CHECK(passes(0, PG_CT_CONTAINER));
  CHECK_FALSE(passes(0, PG_CT_HOST));
  CHECK(passes(0, PG_CT_UNKNOWN));
  CHECK(passes(1, PG_CT_HOST));
  CHECK_FALSE(passes(1, PG_CT_CONTAINER));
  CHECK(passes(1, PG_CT_UNKNOWN));
}

TEST_CASE(
    "kernel filter: fork and exit records go out as they happen only for rules that want them" *
    PG_NEEDS_FALCO_FILES) {
  auto eager = [](const char* condition) {
    std::string rules = std::string("- rule: r\n  desc: d\n  condition: ") + condition +
                        "\n  output: x\n  priority: WARNING\n";
    Rig rig(std::vector<policy::InputFile>{{"e.yaml", rules}});
    return rig.tables.eager;
  };
  CHECK(eager("evt.type = openat and fd.name = /etc/shadow") == 0);
  CHECK(eager("evt.type in (execve, execveat) and proc.name = sh") == 0);
  CHECK(eager("evt.type = vfork and proc.name = sh") == PG_EAGER_FORK);
  CHECK(eager("evt.type = clone3") == PG_EAGER_FORK);
  CHECK(eager("evt.type = procexit and proc.name = sh") == PG_EAGER_EXIT);
  CHECK(eager("proc.name = sh") == (PG_EAGER_FORK | PG_EAGER_EXIT));  // every event type
  // Falco's stable rules name no fork or exit.
  CHECK(Rig(read_files({pg::test::falco_file("falco_rules.yaml")})).tables.eager == 0);
}

TEST_CASE("kernel filter: the stable rules the kernel cannot sharpen, and why" *
          PG_NEEDS_FALCO_FILES) {
  Rig rig(read_files({pg::test::falco_file("falco_rules.yaml")}));
  // None is judged by event type alone in the kernel any more ("Execution
  // from /dev/shm" was, until proc.exe and proc.args became kernel fields).
  const std::set<std::string> expected{};
  std::set<std::string> blunt;
  size_t syscall_rules = 0, filtered_now = 0;
  for (size_t i = 0; i < rig.loaded.ruleset.rules.size(); ++i) {
    const auto& r = rig.loaded.ruleset.rules[i];
    if (r.source != policy::EventSource::Syscall || !r.enabled) continue;
    ++syscall_rules;
    if (!rig.tables.halves[i].sharper_than_type()) blunt.insert(r.name);
    // Sharp halves the kernel runs today: on a syscall the filter judges
    // (exec events always cross for the process table).
    const auto& names = r.event_types.names;
    if (rig.tables.halves[i].sharper_than_type() &&
        std::any_of(names.begin(), names.end(),
                    [](const std::string& t) { return policy::filter_kind_of(t) >= 0; }))
      ++filtered_now;
  }
  MESSAGE(filtered_now << " of them are judged by the kernel filter today");
  const size_t sharp = syscall_rules - blunt.size();
  MESSAGE(sharp << " of " << syscall_rules << " stable rules are sharper than their event types");
  std::string names;
  for (const auto& n : blunt) names += "\n  " + n;
  MESSAGE("judged by event type alone:" << names);
  CHECK(blunt == expected);
}

TEST_CASE("kernel filter: sendto is judged by its socket's family and port; dup by its container") {
  const char* rules = R"(
- rule: udp to dns
  desc: d
  condition: evt.type in (sendto, sendmsg) and fd.typechar = 4 and fd.sport = 53
  output: x
  priority: WARNING
- rule: reverse shell
  desc: d
  condition: evt.type = dup2 and container.id != host and evt.rawres in (0, 1, 2) and fd.type in (ipv4, ipv6)
  output: x
  priority: WARNING
)";
  Rig rig(std::vector<policy::InputFile>{{"s.yaml", rules}});
  policy::NativeFilter native(rig.tables);
  auto passes = [&](size_t rule, uint32_t kind, uint16_t family, uint16_t port, uint8_t ct) {
    pg_filter_event fe{};
    fe.kind = kind;
    fe.family = family;
    fe.port = port;
    fe.container = ct;
    fe.cgroup_id = 100 + ct;
    pg_slots s{};
    return native.eval(fe, "", s) && pg_slots_meet(&s, &rig.tables.rule_slots[rule]);
  };
  const uint32_t sendto = PG_FK_SENDTO, dup2 = PG_FK_DUP2;
  CHECK(passes(0, sendto, AF_INET, 53, PG_CT_HOST));
  CHECK_FALSE(passes(0, sendto, AF_INET, 9, PG_CT_HOST));
  CHECK_FALSE(passes(0, sendto, AF_INET6, 53, PG_CT_HOST));
  CHECK(passes(0, sendto, 0, 9, PG_CT_HOST));  // no socket resolved: nothing judged
  // Two open-class literals that no open satisfies together (rawres and
  // fd.type) are no contradiction for dup2, which has no open class.
  REQUIRE_FALSE(rig.tables.halves[1].clauses.empty());
  CHECK(passes(1, dup2, 0, 0, PG_CT_CONTAINER));
  CHECK_FALSE(passes(1, dup2, 0, 0, PG_CT_HOST));
}

TEST_CASE(
    "kernel filter: a successful open's argument is read only for the slots its file leaves") {
  const char* rules = R"(
- rule: climbs into etc
  desc: d
  condition: evt.type = openat and fd.nameraw contains "../" and fd.name startswith /etc/
  output: x
  priority: WARNING
)";
  Rig rig(std::vector<policy::InputFile>{{"r.yaml", rules}});
  policy::NativeFilter native(rig.tables);
  auto passes = [&](const char* arg, const char* kname, long ret = 3) {
    pg_filter_event fe = pg_fe_open(PG_OPEN_OPENAT, ret, 0, PG_AT_FDCWD);
    pg_slots s{};
    return native.eval(fe, arg, s, "/home/u", nullptr, kname) &&
           pg_slots_meet(&s, &rig.tables.rule_slots[0]);
  };
  // A file outside /etc settles the open without reading the argument.
  CHECK_FALSE(passes("../../tmp/x", "/tmp/x"));
  CHECK_FALSE(passes("/tmp/x", "/tmp/x"));
  CHECK(native.arg_reads() == 0);
  // Inside /etc, the argument decides, read then.
  CHECK(passes("../../etc/shadow", "/etc/shadow"));
  CHECK(native.arg_reads() == 1);
  CHECK_FALSE(passes("/etc/shadow", "/etc/shadow"));
  CHECK(native.arg_reads() == 2);
  // No argument to read narrows nothing.
  CHECK(passes(nullptr, "/etc/shadow"));
  // A failed open has no file: its argument is read before judging.
  CHECK(passes("../../etc/shadow", nullptr, -13));
  CHECK_FALSE(passes("/etc/shadow", nullptr, -13));
  CHECK(native.arg_reads() == 2);
}

TEST_CASE(
    "kernel filter: evt.arg.NAME is judged per syscall by whether and where it has NAME, and its "
    "substrings") {
  const char* rules = R"(
- rule: renamed into etc
  desc: d
  condition: evt.type in (rename, unlink, unlinkat) and evt.arg.newpath startswith /etc/
  output: x
  priority: WARNING
- rule: removed below bin
  desc: d
  condition: evt.type in (rename, unlink, unlinkat) and (evt.arg.path startswith /bin/ or evt.arg.name startswith /bin/)
  output: x
  priority: WARNING
- rule: not below bin
  desc: d
  condition: evt.type in (rename, unlink) and not evt.arg.path = /bin/sh
  output: x
  priority: WARNING
- rule: history removed
  desc: d
  condition: evt.type in (unlink, unlinkat) and (evt.arg.name endswith ash_history or evt.arg.path contains fish_read_history)
  output: x
  priority: WARNING
)";
  Rig rig(std::vector<policy::InputFile>{{"a.yaml", rules}});
  policy::NativeFilter native(rig.tables);
  auto passes = [&](size_t rule, uint16_t kind, const char* path, const char* cwd = nullptr) {
    pg_filter_event fe = pg_fe_pathop(kind, 0, PG_AT_FDCWD);
    pg_slots s{};
    return native.eval(fe, path, s, cwd) && pg_slots_meet(&s, &rig.tables.rule_slots[rule]);
  };
  // No unlink has a newpath: the comparison is false there; a rename's
  // newpath is its second path, not judged.
  CHECK_FALSE(passes(0, PG_PO_UNLINK, "/etc/x"));
  CHECK_FALSE(passes(0, PG_PO_UNLINKAT, "/etc/x"));
  CHECK(passes(0, PG_PO_RENAME, "/tmp/x"));
  // unlink's path and unlinkat's name are their first path arguments;
  // a rename has neither.
  CHECK(passes(1, PG_PO_UNLINK, "/bin/x"));
  CHECK_FALSE(passes(1, PG_PO_UNLINK, "/tmp/x"));
  CHECK(passes(1, PG_PO_UNLINKAT, "/bin/x"));
  CHECK_FALSE(passes(1, PG_PO_UNLINKAT, "/tmp/x"));
  CHECK_FALSE(passes(1, PG_PO_RENAME, "/bin/x"));
  // Negated, a syscall without the argument holds (<NA> compares false).
  CHECK(passes(2, PG_PO_RENAME, "/bin/sh"));
  CHECK_FALSE(passes(2, PG_PO_UNLINK, "/bin/sh"));
  CHECK(passes(2, PG_PO_UNLINK, "/tmp/x"));
  // Substrings of the first path argument, searched in the kernel (an
  // endswith implies the substring), relative paths as resolved.
  CHECK(rig.tables.needles.at(PG_FF_ARG_NEEDLE) ==
        std::vector<std::string>{"ash_history", "fish_read_history"});
  CHECK(passes(3, PG_PO_UNLINKAT, "/home/u/.bash_history"));
  CHECK(passes(3, PG_PO_UNLINKAT, ".bash_history", "/home/u"));
  CHECK_FALSE(passes(3, PG_PO_UNLINKAT, "f1.o", "/tmp/proj"));
  CHECK_FALSE(passes(3, PG_PO_UNLINKAT, "/tmp/ccA1b2C3.s"));
  CHECK(passes(3, PG_PO_UNLINKAT, "/tmp/ash_history.old"));  // contains, so judged in userspace
  CHECK(passes(3, PG_PO_UNLINK, "/root/.local/share/fish/fish_read_history.x"));
  CHECK_FALSE(passes(3, PG_PO_UNLINK, "/root/.local/share/fish/fish_history"));
  CHECK(passes(3, PG_PO_UNLINK, "x", nullptr));                 // the directory unknown: not judged
  CHECK_FALSE(passes(3, PG_PO_RENAME, "/root/.bash_history"));  // neither argument
}

TEST_CASE("kernel filter: an open's path is searched for the substrings rules name") {
  const char* rules = R"(
- rule: history truncated
  desc: d
  condition: evt.type = openat and (fd.name endswith ash_history or fd.name contains fish_read_history)
  output: x
  priority: WARNING
- rule: not a key
  desc: d
  condition: evt.type = openat and fd.name startswith /home/ and not fd.name contains id_rsa
  output: x
  priority: WARNING
)";
  Rig rig(std::vector<policy::InputFile>{{"n.yaml", rules}});
  CHECK(rig.tables.needles.at(PG_FF_PATH_NEEDLE) ==
        std::vector<std::string>{"fish_read_history", "id_rsa"});
  policy::NativeFilter native(rig.tables);
  auto passes = [&](size_t rule, const char* kname) {
    pg_filter_event fe = pg_fe_open(PG_OPEN_OPENAT, 3, O_WRONLY | O_TRUNC, PG_AT_FDCWD);
    pg_slots s{};
    return native.eval(fe, kname, s, nullptr, nullptr, kname) &&
           pg_slots_meet(&s, &rig.tables.rule_slots[rule]);
  };
  CHECK(passes(0, "/root/.bash_history"));
  CHECK(passes(0, "/root/.local/share/fish/fish_read_history.1"));
  CHECK_FALSE(passes(0, "/tmp/proj/f1.o"));
  CHECK(passes(1, "/home/u/notes"));
  CHECK_FALSE(passes(1, "/home/u/.ssh/id_rsa.pub"));
  CHECK_FALSE(passes(1, "/etc/passwd"));
}
