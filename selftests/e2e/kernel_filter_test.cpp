// The kernel filter on the real kernel: the same scripted attack raises the
// same alerts with the filter on and with --no-kernel-filter, while the
// filter stops the noise in the kernel; its pinned maps read back with
// bpftool as typed entries; and the pins go away on exit.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "harness.h"
#include "kern/api/filter.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kStable = pg::test::falco_file("falco_rules.yaml");
const std::string kPinDir = "/sys/fs/bpf/peregrine";

// Real actions, each of which one of the stable rules reports, with benign
// opens mixed in. Files are created under a scratch directory and removed.
void attack(const TempDir& scratch) {
  auto run = [](const std::string& cmd) {
    int rc = std::system(cmd.c_str());
    (void)rc;
  };
  for (int i = 0; i < 200; ++i) run("true < /etc/hostname");  // noise
  run("cat /etc/shadow > /dev/null");                         // Read sensitive file untrusted
  run("head -c1 /etc/sudoers > /dev/null 2>&1");
  run("cat /etc/pam.d/common-auth > /dev/null 2>&1");
  run("touch /bin/pg-e2e-filter && rm -f /bin/pg-e2e-filter");  // a write no stable rule wants
  run("echo x > /var/log/pg-e2e-filter.log && : > /var/log/pg-e2e-filter.log && "
      "rm -f /var/log/pg-e2e-filter.log");     // Clear Log Activities (truncation)
  run("cd /etc && cat ./shadow > /dev/null");  // relative, not normalised: passes the kernel
  run("cd /etc && cat shadow > /dev/null");    // relative: judged as /etc/shadow in the kernel
  for (int i = 0; i < 100; ++i) run("cd /etc && cat hostname > /dev/null");  // and stopped there
  // Create Symlink / Hardlink Over Sensitive Files, by absolute and
  // relative paths, among benign links the kernel stops.
  for (int i = 0; i < 20; ++i) run("ln -sf /etc/hostname " + scratch.path + "/benign");
  run("ln -s /etc/shadow " + scratch.path + "/sym && ln -s /root " + scratch.path + "/sym2");
  run("cd /etc && ln -s ./shadow " + scratch.path + "/sym3");  // not over a listed name
  run("cd /var/tmp && ln ../../etc/shadow pg-e2e-hard 2>/dev/null; rm -f pg-e2e-hard");
  run("cat /etc//shadow > /dev/null");  // non-normalised: passes the kernel
  for (int i = 0; i < 200; ++i) run("cat " + scratch.path + "/../../etc/hostname > /dev/null");
}

// rule + fd.name of every alert, in order.
std::vector<std::string> alert_keys(Daemon& d) {
  std::vector<std::string> out;
  for (const auto& j : d.all([](const Json& j) { return j.contains("rule"); })) {
    const Json& f = j["output_fields"];
    std::string name;
    for (const char* k : {"fd.name", "evt.arg.target", "evt.arg.oldpath"})
      if (f.contains(k) && f[k].is_string()) name += f[k].get<std::string>() + " ";
    out.push_back(j["rule"].get<std::string>() + " | " + name);
  }
  return out;
}

// "N events judged, M passed to userspace" from the daemon's exit log.
std::pair<uint64_t, uint64_t> judged_passed(const std::string& log) {
  std::smatch m;
  static const std::regex re(R"((\d+) events judged, (\d+) passed to userspace)");
  if (!std::regex_search(log, m, re)) return {0, 0};
  return {std::stoull(m[1]), std::stoull(m[2])};
}

std::vector<std::string> run_attack(const std::vector<std::string>& extra, std::string& log) {
  std::vector<std::string> args{"run", "-r", kStable, "--json", "-o", "rule_matching=all"};
  args.insert(args.end(), extra.begin(), extra.end());
  Daemon d(args);
  REQUIRE(d.ready());
  TempDir scratch;
  attack(scratch);
  // The last action's alert has arrived once this one has.
  REQUIRE(d.wait_for([](const Json& j) {
    return j.value("rule", "") == "Read sensitive file untrusted" &&
           j["output_fields"].value("proc.cmdline", "") == "cat /etc//shadow";
  }));
  std::this_thread::sleep_for(300ms);
  REQUIRE(d.stop() == 0);
  log = d.stderr_text();
  return alert_keys(d);
}

}  // namespace

TEST_CASE("the same attack raises the same alerts with and without the kernel filter" *
          PG_NEEDS_FALCO_FILES) {
  std::string on_log, off_log;
  auto on = run_attack({}, on_log);
  auto off = run_attack({"--no-kernel-filter"}, off_log);
  CHECK(on == off);
  std::set<std::string> rules;
  for (const auto& k : on) rules.insert(k.substr(0, k.find(" | ")));
  CHECK(rules.count("Read sensitive file untrusted"));
  CHECK(rules.count("Clear Log Activities"));
  MESSAGE(on.size() << " alerts each way");

  auto [on_seen, on_passed] = judged_passed(on_log);
  auto [off_seen, off_passed] = judged_passed(off_log);
  MESSAGE("filter on: " << on_seen << " judged, " << on_passed << " passed; off: " << off_seen
                        << " judged, " << off_passed << " passed");
  CHECK(on_seen > 400);
  CHECK(on_passed * 10 < on_seen);  // the noise stopped in the kernel
  CHECK(off_passed == off_seen);    // nothing stopped without the filter
}

TEST_CASE(
    "fork records wait for the child's first record, ancestors first; exits stay in the kernel") {
  TempDir dir;
  const std::string probe = dir.path + "/probe";
  std::ofstream(probe) << "x";
  const std::string rules = dir.path + "/rules.yaml";
  std::ofstream(rules)
      << "- rule: probe opened\n  desc: d\n  condition: evt.type in (open, openat) "
         "and fd.name = "
      << probe
      << "\n  output: probe opened (pid=%proc.pid ppid=%proc.ppid "
         "exe=%proc.exepath pexe=%proc.pexepath)\n  priority: WARNING\n";
  Daemon d({"run", "-r", rules, "--json"});
  REQUIRE(d.ready());
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  // A child and a grandchild, neither of which execs: the grandchild opens
  // the probe first, while its parent has sent nothing yet either.
  const pid_t child = fork();
  if (child == 0) {
    const pid_t g = fork();
    if (g == 0) {
      ::close(::open(probe.c_str(), O_RDONLY));
      _exit(0);
    }
    waitpid(g, nullptr, 0);
    ::close(::open(probe.c_str(), O_RDONLY));
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  auto opened_by = [&](bool by_child) {
    return d.wait_for([&](const Json& j) {
      if (!j.contains("output_fields")) return false;
      const bool is_child = j["output_fields"].value("proc.pid", 0) == child;
      return j.value("rule", "") == "probe opened" && is_child == by_child;
    });
  };
  auto grandchild = opened_by(false);
  REQUIRE_MESSAGE(grandchild, d.stderr_text());
  CHECK((*grandchild)["output_fields"]["proc.exepath"] == self);
  CHECK((*grandchild)["output_fields"]["proc.pexepath"] == self);  // the child, sent before it
  auto by_child = opened_by(true);
  REQUIRE(by_child);
  CHECK((*by_child)["output_fields"]["proc.exepath"] == self);
  CHECK((*by_child)["output_fields"]["proc.pexepath"] == self);

  // A parent that execs while its child has sent nothing yet: the child's
  // fork record goes out before the exec, so the child is the old image.
  int gate[2];
  REQUIRE(pipe(gate) == 0);
  const pid_t parent = fork();
  if (parent == 0) {
    const pid_t c = fork();
    if (c == 0) {
      char b;
      if (read(gate[0], &b, 1) == 1) ::close(::open(probe.c_str(), O_RDONLY));
      _exit(0);
    }
    dup2(gate[1], 9);  // no close-on-exec: the shell releases the child after the exec
    execl("/bin/sh", "sh", "-c", "echo x >&9; sleep 0.5", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  waitpid(parent, nullptr, 0);
  auto after_exec = d.wait_for([&](const Json& j) {
    return j.value("rule", "") == "probe opened" && j.contains("output_fields") &&
           j["output_fields"].value("proc.ppid", 0) == parent;
  });
  REQUIRE_MESSAGE(after_exec, d.stderr_text());
  CHECK((*after_exec)["output_fields"]["proc.exepath"] == self);
  CHECK((*after_exec)["output_fields"]["proc.pexepath"] != self);  // the parent is sh now

  REQUIRE(d.stop() == 0);
  // Of the lifecycle events the programs saw, only the forks above crossed
  // (the rule names no fork or exit); the exits of both stayed in the kernel.
  std::smatch m;
  const std::string log = d.stderr_text();
  REQUIRE(std::regex_search(log, m, std::regex(R"((\d+) exec/fork/exit events, (\d+) sent)")));
  MESSAGE(m[0]);
  CHECK(std::stoull(m[2]) < std::stoull(m[1]));
}

// A rules file in `dir` with the rule `name`: `probe` opened by a process
// whose proc.exe is `exe`.
static std::string probe_exe_rules(const TempDir& dir, const std::string& name,
                                   const std::string& probe, const std::string& exe) {
  const std::string rules = dir.path + "/rules.yaml";
  std::ofstream(rules) << "- rule: " << name
                       << "\n  desc: d\n  condition: evt.type in (open, openat) and fd.name = "
                       << probe << " and proc.exe = " << exe
                       << "\n  output: opened (pid=%proc.pid)\n  priority: WARNING\n";
  return rules;
}

// Run selftests/e2e/progs/pending.c as `name` (its proc.exe): `children`
// children that open `probe` once it has `then` ("exec" or "exit").
static void run_pending(const std::string& prog, const std::string& name, int children,
                        const std::string& probe, const char* then) {
  const pid_t p = fork();
  if (p == 0) {
    execl(prog.c_str(), name.c_str(), std::to_string(children).c_str(), probe.c_str(), then,
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(p, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
}

TEST_CASE("a child that never execs is judged by its parent's proc.exe from before the parent's exec") {
  TempDir dir;
  const std::string probe = dir.path + "/probe", sock = dir.path + "/ctl.sock";
  std::ofstream(probe) << "x";
  const std::string rules = probe_exe_rules(dir, "old image opens probe", probe, "pg-old-image");
  const std::string prog = build_prog("pending", dir.path);
  Daemon d({"run", "-c", "/dev/null", "-r", rules, "--json", "-o", "control_socket=" + sock});
  REQUIRE(d.ready());
  // 40 children, pending when their parent execs: the exec sends the first
  // 32 (PG_EXEC_CHILDREN) with the old image's strings; the others keep
  // finding their parent's entry through their pending fork record, and
  // must not take the new image's for theirs. Every open must pass the
  // kernel, whichever way it was judged.
  const int children = 40;
  run_pending(prog, "pg-old-image", children, probe, "exec");
  std::this_thread::sleep_for(500ms);  // the children open 200 ms after the exec
  int passed = 0;
  for (int i = 0; i < 50 && passed < children; ++i) {
    Json j = Json::parse(run_capture(peregrine_bin() + " status --json --socket " + sock), nullptr,
                         false);
    passed = 0;
    if (j.is_object())
      for (const auto& c : j["kernel_crossings"])
        if (c.value("rule", "") == "old image opens probe") passed = c.value("kernel_passed", 0);
    if (passed < children) std::this_thread::sleep_for(100ms);
  }
  CHECK_MESSAGE(passed == children, d.stderr_text());
  REQUIRE(d.stop() == 0);
}

TEST_CASE("a task's cached verdict is judged again when its comm or uid changes") {
  TempDir dir;
  const std::string probe = dir.path + "/probe";
  std::ofstream(probe) << "x";
  chmod(dir.path.c_str(), 0755);
  chmod(probe.c_str(), 0644);
  const std::string rules = dir.path + "/rules.yaml";
  std::ofstream(rules) << "- rule: renamed opens probe\n  desc: d\n  condition: evt.type = openat "
                          "and proc.name = pg-renamed and fd.name = "
                       << probe
                       << "\n  output: renamed (pid=%proc.pid)\n  priority: WARNING\n"
                          "- rule: daemon opens probe\n  desc: d\n  condition: evt.type = openat "
                          "and user.uid = 1 and fd.name = "
                       << probe << "\n  output: uid 1 (pid=%proc.pid)\n  priority: WARNING\n";
  Daemon d({"run", "-r", rules, "--json"});
  REQUIRE(d.ready());
  // The same task opens the probe before and after each change: the first
  // open leaves it a cached verdict in which neither rule survives.
  const pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 3; ++i) ::close(::open(probe.c_str(), O_RDONLY));
    prctl(PR_SET_NAME, "pg-renamed");
    ::close(::open(probe.c_str(), O_RDONLY));
    prctl(PR_SET_NAME, "pg-plain");
    if (setresuid(1, 1, 1) != 0) _exit(1);
    ::close(::open(probe.c_str(), O_RDONLY));
    _exit(0);
  }
  int st = 0;
  waitpid(child, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  auto fired = [&](const std::string& rule) {
    return d.wait_for([&](const Json& j) {
      return j.value("rule", "") == rule && j.contains("output_fields") &&
             j["output_fields"].value("proc.pid", 0) == child;
    });
  };
  CHECK_MESSAGE(fired("renamed opens probe"), d.stderr_text());
  CHECK(fired("daemon opens probe"));
  REQUIRE(d.stop() == 0);
  CHECK(d.all([](const Json& j) { return j.contains("rule"); }).size() == 2);
}

// seen and passed of one filtered syscall, summed over CPUs, from the pins.
static std::pair<uint64_t, uint64_t> kind_counts(int kind) {
  Json j =
      Json::parse(run_capture(fmt::format("bpftool -j map lookup pinned {}/pg_fstats key {} 0 0 0",
                                          kPinDir, kind)),
                  nullptr, false);
  uint64_t seen = 0, passed = 0;
  const Json& f = j.contains("formatted") ? j["formatted"] : j;
  if (f.contains("values"))
    for (const auto& v : f["values"]) {
      seen += v["value"].value("seen", uint64_t(0));
      passed += v["value"].value("passed", uint64_t(0));
    }
  return {seen, passed};
}

TEST_CASE("a child that never execs keeps its parent's proc.exe in the kernel after the parent ends") {
  TempDir dir;
  const std::string probe = dir.path + "/probe";
  std::ofstream(probe) << "x";
  const std::string rules = probe_exe_rules(dir, "other image opens probe", probe, "pg-other-image");
  const std::string prog = build_prog("pending", dir.path);
  Daemon d({"run", "-r", rules, "--json"});
  REQUIRE(d.ready());
  // The child's fork record is still pending when its parent ends and its
  // pg_fproc entry goes: the child keeps a copy of it (made at the parent's
  // exit), so the kernel still knows its proc.exe is not pg-other-image
  // and stops its open. Unknown strings would let the open through.
  const auto [seen0, passed0] = kind_counts(PG_FK_OPENAT);
  run_pending(prog, "pg-orphan-image", 1, probe, "exit");
  std::this_thread::sleep_for(600ms);  // the orphan opens 200 ms after its parent's exit
  const auto [seen1, passed1] = kind_counts(PG_FK_OPENAT);
  MESSAGE("openat during the test: " << seen1 - seen0 << " judged, " << passed1 - passed0
                                     << " passed");
  CHECK(seen1 > seen0);
  CHECK(passed1 == passed0);
  REQUIRE(d.stop() == 0);
}

TEST_CASE("failed execs are judged in the kernel by the caller's proc.exe and proc.args" *
          PG_NEEDS_FALCO_FILES) {
  Daemon d({"run", "-r", kStable, "--json", "-o", "rule_matching=all"});
  REQUIRE(d.ready());
  // env looks the command up along PATH: one failed execve per directory.
  // Its proc.exe is "env": no stable rule can match, so all stop in the kernel.
  for (int i = 0; i < 20; ++i) REQUIRE(std::system("env pg-e2e-no-such-cmd >/dev/null 2>&1") != 0);
  // The same from a copy under /dev/shm: Execution from /dev/shm, for the
  // exec and for each failed lookup after it (proc.exe starts with /dev/shm/).
  const std::string shm_env = "/dev/shm/pg-e2e-env";
  std::filesystem::copy_file("/usr/bin/env", shm_env,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(shm_env, std::filesystem::perms::owner_all);
  REQUIRE(std::system((shm_env + " pg-e2e-no-such-cmd >/dev/null 2>&1").c_str()) != 0);
  auto failed = d.wait_for([](const Json& j) {
    return j.value("rule", "") == "Execution from /dev/shm" && j.contains("output_fields") &&
           j["output_fields"].value("evt.res", "") == "ENOENT";
  });
  std::filesystem::remove(shm_env);
  REQUIRE_MESSAGE(failed, d.stderr_text());
  CHECK((*failed)["output_fields"]["proc.exepath"] == shm_env);
  const auto [seen, passed] = kind_counts(PG_FK_EXECVE);
  MESSAGE("failed execve: " << seen << " judged, " << passed << " passed");
  CHECK(seen >= 40);
  CHECK(passed * 4 < seen);  // the /dev/shm copy's lookups, not env's
  REQUIRE(d.stop() == 0);
}

TEST_CASE("failed execs are judged in the kernel by what userspace found in the caller's image") {
  TempDir dir;
  const std::string rules = dir.path + "/rules.yaml";
  std::ofstream(rules) << "- rule: tunables at exec\n  desc: d\n  condition: evt.type in (execve, "
                          "execveat) and proc.env icontains GLIBC_TUNABLES\n  output: tunables "
                          "(proc.cmdline=%proc.cmdline evt.res=%evt.res)\n  priority: WARNING\n";
  // perl runs a one-word command without a shell: a child does glibc's
  // execvp, one failed execve per PATH directory, in perl's image. The
  // verdict on perl's image (no GLIBC_TUNABLES) reaches the kernel while
  // perl sleeps, before the lookups, so they stop there.
  const std::string perl =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin perl -e "
      "'select(undef, undef, undef, 0.3); system(\"pg-e2e-no-such-cmd\") for 1..20' "
      ">/dev/null 2>&1";
  Daemon d({"run", "-r", rules, "--json"});
  REQUIRE(d.ready());
  REQUIRE(std::system(perl.c_str()) == 0);
  const auto [seen, passed] = kind_counts(PG_FK_EXECVE);
  MESSAGE("failed execve without the variable: " << seen << " judged, " << passed << " passed");
  CHECK(seen >= 40);
  CHECK(passed * 10 < seen);
  // With the variable in perl's environment the lookups match: the
  // verdict lets them through and userspace raises the rule for each.
  REQUIRE(std::system(("GLIBC_TUNABLES=glibc.malloc.check=0 " + perl).c_str()) == 0);
  auto failed = d.wait_for([](const Json& j) {
    return j.value("rule", "") == "tunables at exec" && j.contains("output_fields") &&
           j["output_fields"].value("evt.res", "") == "ENOENT";
  });
  REQUIRE_MESSAGE(failed, d.stderr_text());
  CHECK((*failed)["output_fields"]["proc.cmdline"].get<std::string>().starts_with("perl -e"));
  REQUIRE(d.stop() == 0);
}

TEST_CASE("the filter maps are pinned, typed for bpftool, and removed on exit" *
          PG_NEEDS_FALCO_FILES) {
  Daemon d({"run", "-r", kStable});
  REQUIRE(d.ready());
  const std::vector<std::string> maps{"pg_fctl",  "pg_fkind", "pg_fmask",  "pg_fenum",
                                      "pg_fstr",  "pg_fnum",  "pg_fpath",  "pg_fstats",
                                      "pg_fslot", "pg_flc",   "pg_fcgroup"};
  for (const auto& m : maps) {
    std::string out = run_capture("bpftool -j map dump pinned " + kPinDir + "/" + m);
    INFO(m);
    Json j = Json::parse(out, nullptr, false);
    REQUIRE(j.is_array());
    // The stable rules use no uid or port; cgroups are noted as events come.
    if (m != "pg_fnum" && m != "pg_fcgroup") CHECK(!j.empty());
  }
  {
    // Pending fork records: typed too (empty or not, depending on the moment).
    Json j = Json::parse(run_capture("bpftool -j map dump pinned " + kPinDir + "/pg_pending_fork"),
                         nullptr, false);
    CHECK(j.is_array());
  }
  // Keys and values print with their field names, strings as strings.
  Json ctl = Json::parse(run_capture("bpftool -j map dump pinned " + kPinDir + "/pg_fctl"));
  CHECK(ctl[0]["formatted"]["value"]["enabled"] == 1);
  Json str = Json::parse(run_capture("bpftool -j map dump pinned " + kPinDir + "/pg_fstr"));
  bool found_bash = false;
  for (const auto& e : str)
    if (e["formatted"]["key"]["value"] == "bash") found_bash = true;
  CHECK(found_bash);
  Json path = Json::parse(run_capture("bpftool -j map dump pinned " + kPinDir + "/pg_fpath"));
  bool found_shadow = false;
  for (const auto& e : path)
    if (e["formatted"]["key"]["path"] == "/etc/shadow") found_shadow = true;
  CHECK(found_shadow);

  // policy explain reads the live per-slot counters from the pins.
  std::string explain = run_capture(
      peregrine_bin() + " policy explain 'Read sensitive file untrusted' -r " + kStable);
  CHECK(explain.find("seen ") != std::string::npos);

  REQUIRE(d.stop() == 0);
  CHECK_FALSE(std::filesystem::exists(kPinDir + "/pg_fctl"));
}
