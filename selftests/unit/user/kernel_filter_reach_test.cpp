// How far the kernel filter reaches with every official rule file loaded
// (stable, incubating, and sandbox with its disabled rules enabled): which
// rules the kernel judges by no more than their event types, and which let
// the opens of an ordinary busy node through. Each exception is listed with
// its reason; a new one fails the test, so a lowering regression (or a new
// official rule the kernel cannot sharpen) is seen, not discovered later as
// a slow node.
#include <doctest/doctest.h>
#include <fcntl.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/filter_tables.h"
#include "policy/ruleset.h"
#include "selftests/common/falco_files.h"
#include "selftests/unit/user/native_filter.h"
#include "user/engine/extract.h"

using namespace pg;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f, "cannot open " << path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The three official syscall rule files; sandbox's disabled rules enabled,
// as a user who turns them on would run them.
struct Official {
  policy::LoadResult loaded;
  policy::FilterTables tables;

  Official() {
    std::vector<policy::InputFile> files;
    for (const char* name :
         {"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"}) {
      std::string text = slurp(pg::test::falco_file(name));
      for (size_t p; (p = text.find("enabled: false")) != std::string::npos;)
        text.replace(p, 14, "enabled: true ");
      files.push_back({name, text});
    }
    loaded = policy::load_rules_from_memory(files);
    REQUIRE(loaded.ok());
    tables = policy::build_filter_tables(loaded.ruleset, user::engine::host_lowering_options());
  }
  const std::vector<policy::Rule>& rules() const { return loaded.ruleset.rules; }
};

// An open as a busy, benign node makes them.
struct Open {
  const char* comm;
  uint32_t uid;
  const char* path;
  uint64_t flags;
  uint8_t container;
};

const std::vector<Open> kBenignOpens{
    {"bench", 1000, "/tmp/pg-bench/file.txt", O_RDONLY, PG_CT_HOST},
    {"bench", 0, "/tmp/pg-bench/file.txt", O_WRONLY | O_CREAT | O_TRUNC, PG_CT_HOST},
    {"cc1", 1000, "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h", O_RDONLY, PG_CT_HOST},
    {"cc1plus", 1000, "/home/dev/src/app/main.cpp", O_RDONLY, PG_CT_HOST},
    {"as", 1000, "/home/dev/src/app/build/main.o", O_RDWR | O_CREAT | O_TRUNC, PG_CT_HOST},
    {"ld", 0, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY | O_CLOEXEC, PG_CT_HOST},
    {"python3", 0, "/srv/app/data.db", O_RDWR | O_CREAT, PG_CT_CONTAINER},
    {"redis-server", 999, "/var/lib/redis/temp-1.rdb", O_WRONLY | O_CREAT, PG_CT_HOST},
    {"find", 0, "/usr/share/doc/bash/copyright", O_RDONLY | O_DIRECTORY, PG_CT_HOST},
    {"nginx", 33, "/var/www/html/index.html", O_RDONLY, PG_CT_CONTAINER},
};

}  // namespace

TEST_CASE("kernel filter: every official rule is sharper in the kernel than its event types" *
          PG_NEEDS_FALCO_FILES) {
  Official o;
  // Rules on filtered syscalls that the kernel judges by event type alone,
  // and why. Every condition piece of these rules is one the kernel has no
  // fact for; they cost a crossing per event of their types. The failed
  // execs of the command-line and environment rules are judged by the
  // image their process runs (PG_FF_IMAGE).
  const std::map<std::string, std::string> expected{
      // Its open branch is sharp (creating write opens); its rename, unlink
      // and mkdir branch is "evt.arg.newpath/path contains /.": a substring.
      {"Create Hidden Files or Directories", "renames, unlinks, mkdirs: evt.arg.* contains \"/.\""},
  };
  std::map<std::string, std::string> blunt;
  size_t filtered = 0;
  for (size_t i = 0; i < o.rules().size(); ++i) {
    const auto& r = o.rules()[i];
    if (r.source != policy::EventSource::Syscall || !r.enabled) continue;
    const auto& names = r.event_types.names;
    const bool on_filtered =
        r.event_types.all || std::any_of(names.begin(), names.end(), [](const std::string& t) {
          return policy::filter_kind_of(t) >= 0;
        });
    if (!on_filtered) continue;  // exec, fork...: not judged by the kernel filter
    ++filtered;
    if (!o.tables.halves[i].sharper_than_type()) {
      std::string clauses;
      for (const auto& c : o.tables.halves[i].clauses) clauses += "\n    " + policy::to_string(c);
      blunt[r.name] = clauses;
    }
  }
  MESSAGE((filtered - blunt.size()) << " of " << filtered
                                    << " official rules on filtered syscalls are sharper in the "
                                       "kernel than their event types");
  std::set<std::string> got, want;
  for (const auto& [name, clauses] : blunt) {
    got.insert(name);
    if (!expected.contains(name)) MESSAGE("judged by event type alone: " << name << clauses);
  }
  for (const auto& [name, reason] : expected) want.insert(name);
  CHECK(got == want);
}

TEST_CASE("kernel filter: no official rule lets the opens of a benign node through" *
          PG_NEEDS_FALCO_FILES) {
  Official o;
  // Rules whose kernel half passes some benign open, and why it must. None
  // since the kernel searches paths for the substrings rules name
  // (PG_FF_PATH_NEEDLE): "fd.name contains /.ssh/" and the like used to
  // let reads below /home/ through.
  const std::map<std::string, std::string> expected{};
  policy::NativeFilter native(o.tables);
  std::map<std::string, std::set<std::string>> leaks;  // rule -> the opens it let through
  for (const auto& op : kBenignOpens)
    for (uint32_t kind : {PG_FK_OPEN, PG_FK_OPENAT, PG_FK_OPENAT2}) {
      pg_filter_event fe{};
      fe.kind = kind;
      fe.uid = op.uid;
      fe.open_flags = op.flags;
      fe.ret = 3;
      fe.dirfd = PG_AT_FDCWD;
      fe.container = op.container;
      fe.cgroup_id = 100 + op.container;
      std::strncpy(fe.comm, op.comm, PG_COMM_LEN - 1);
      std::strncpy(fe.pcomm, "bash", PG_COMM_LEN - 1);
      pg_slots s{};
      if (!native.eval(fe, op.path, s)) continue;
      for (size_t i = 0; i < o.rules().size(); ++i)
        if (pg_slots_meet(&s, &o.tables.rule_slots[i]))
          leaks[o.rules()[i].name].insert(std::string(op.comm) + " " + op.path);
    }
  std::string report;
  for (const auto& [rule, opens] : leaks) {
    report += "\n  " + rule + ":";
    for (const auto& x : opens) report += "\n    " + x;
    if (expected.contains(rule)) continue;
    const auto* r = o.loaded.ruleset.find(rule);
    const size_t i = size_t(r - o.rules().data());
    for (const auto& c : o.tables.halves[i].clauses)
      report += "\n    | " + policy::to_string(c).substr(0, 400);
  }
  MESSAGE("rules passing benign opens:" << (report.empty() ? " none" : report));
  std::set<std::string> got, want;
  for (const auto& [rule, opens] : leaks) got.insert(rule);
  for (const auto& [rule, why] : expected) want.insert(rule);
  CHECK(got == want);
}
