// Limits checked up front and programs attached live: a rule set too big for
// the kernel tables is refused by `rules validate` and `policy load` with the
// rule at fault; a policy loaded live that needs a syscall no startup rule
// did gets its program attached and fires without a restart.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string big_list_rules(const std::string& dir, int n) {
  std::string items;
  for (int i = 0; i < n; ++i) items += (i ? ", " : "") + dir + "/p" + std::to_string(i);
  return "- list: big_paths\n  items: [" + items +
         "]\n- rule: Big path list\n  desc: d\n  condition: evt.type = openat and fd.name in "
         "(big_paths)\n  output: o %fd.name\n  priority: WARNING\n";
}

std::string big_or_rules(const std::string& dir, int n) {
  std::string c = "evt.type = openat and (";
  for (int i = 0; i < n; ++i)
    c += (i ? " or " : "") + std::string("fd.name = ") + dir + "/f" + std::to_string(i);
  return "- rule: Big or\n  desc: d\n  condition: " + c +
         ")\n  output: o %fd.name\n  priority: WARNING\n";
}

}  // namespace

TEST_CASE("rules validate refuses a 40k-path list and a 100k-term condition, at the rule") {
  TempDir dir;
  const std::string list = dir.path + "/list.yaml", ors = dir.path + "/or.yaml";
  write_file(list, big_list_rules(dir.path, 40000));
  write_file(ors, big_or_rules(dir.path, 100000));
  for (const auto& [file, rule] :
       {std::pair{list, std::string("Big path list")}, std::pair{ors, std::string("Big or")}}) {
    const auto t = std::chrono::steady_clock::now();
    const std::string out = run_capture(peregrine_bin() + " rules validate " + file + " 2>&1");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    MESSAGE(rule << ": validate took " << secs << " s");
    CHECK(out.find("LOAD_ERR_KERNEL_CAPACITY") != std::string::npos);
    CHECK(out.find("rule '" + rule + "'") != std::string::npos);
    CHECK(out.find(file + ":") != std::string::npos);  // located
    CHECK(out.find("FAILED") != std::string::npos);
    CHECK(secs < 20);
  }
}

TEST_CASE(
    "policy load refuses a rule set that fits the map but not a reload, and changes nothing") {
  TempDir dir;
  const std::string sock = dir.path + "/ctl.sock", base = dir.path + "/base.yaml",
                    list = dir.path + "/list.yaml";
  write_file(base, "- rule: Marker\n  desc: d\n  condition: evt.type = openat and fd.name = " +
                       dir.path + "/marker\n  output: marker\n  priority: WARNING\n");
  write_file(list, big_list_rules(dir.path, 40000));
  Daemon d({"run", "-c", "/dev/null", "-r", base, "--json", "-o", "control_socket=" + sock});
  REQUIRE(d.ready());
  const std::string out =
      run_capture(peregrine_bin() + " policy load big " + list + " --socket " + sock + " 2>&1");
  CHECK(out.find("LOAD_ERR_KERNEL_CAPACITY") != std::string::npos);
  CHECK(out.find("Big path list") != std::string::npos);
  // The running policy is untouched and still alerts.
  std::ofstream(dir.path + "/marker") << "m";
  CHECK(d.wait_for([](const Json& j) { return j.value("rule", "") == "Marker"; }, 5s));
  CHECK(run_capture(peregrine_bin() + " policy reload --socket " + sock + " 2>&1").find("error") ==
        std::string::npos);
}

// CapEff (and CapPrm, CapBnd) of every thread of `pid`, as hex text.
std::vector<std::string> cap_lines(pid_t pid) {
  std::vector<std::string> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(t.path() / "status");
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with("CapEff:") || line.starts_with("CapPrm:") || line.starts_with("CapBnd:"))
        out.push_back(line);
  }
  return out;
}

// The daemon holds only what docs/security.md ("Privileges held") lists, in
// every thread, and still does its work with it: a live policy load (map
// updates, a program loaded and attached), a reload, alerts.
TEST_CASE("a policy loaded live that needs an unattached syscall fires without a restart") {
  TempDir dir;
  const std::string sock = dir.path + "/ctl.sock", base = dir.path + "/base.yaml",
                    live = dir.path + "/live.yaml";
  write_file(base, "- rule: Marker\n  desc: d\n  condition: evt.type = openat and fd.name = " +
                       dir.path + "/marker\n  output: marker\n  priority: WARNING\n");
  write_file(live,
             "- rule: Namespace unshared\n  desc: d\n  condition: evt.type = unshare and proc.name "
             "= unshare\n  output: unshare by %proc.name (flags=%evt.arg.flags)\n  priority: "
             "WARNING\n");
  const std::string prog_log = dir.path + "/prog.log";
  // The program output's shell inherits the seccomp filter: unshare fails.
  Daemon d({"run", "-c", "/dev/null", "-r", base, "--json", "-o", "control_socket=" + sock, "-o",
            "program_output.enabled=true", "-o",
            "program_output.program=unshare -U true 2>/dev/null; echo unshare_rc=$? >> " +
                prog_log + "; cat > /dev/null"});
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("unshare") == std::string::npos);  // not attached at start
  const std::string out =
      run_capture(peregrine_bin() + " policy load live " + live + " --socket " + sock + " 2>&1");
  INFO(out);
  REQUIRE(eventually([&] {
    return d.stderr_text().find("program(s) the new policy needs: unshare") != std::string::npos;
  }));
  // What the load says is true after it: the program was attached, not
  // missing until a restart.
  CHECK(out.find("note: attached the programs the new rules need: unshare") != std::string::npos);
  CHECK(out.find("no program attached") == std::string::npos);
  CHECK(d.stderr_text().find("no program attached") == std::string::npos);
  const Json state = Json::parse(run_capture(peregrine_bin() + " status --json --socket " + sock));
  const auto now = state["programs_attached"].get<std::vector<std::string>>();
  CHECK(std::find(now.begin(), now.end(), "unshare") != now.end());
  CHECK(std::system("unshare -U true") == 0);
  CHECK(d.wait_for([](const Json& j) { return j.value("rule", "") == "Namespace unshared"; }, 5s));

  // cap_dac_read_search (2), cap_sys_ptrace (19), cap_perfmon (38), cap_bpf (39).
  const std::string kept = "000000c000080004";
  const auto caps = cap_lines(d.pid());
  REQUIRE(caps.size() >= 3);
  for (const auto& l : caps) {
    INFO(l);
    CHECK(l.ends_with(kept));
  }
  CHECK(run_capture(peregrine_bin() + " policy reload --socket " + sock + " 2>&1").find("error") ==
        std::string::npos);
  std::ofstream(dir.path + "/marker") << "m";
  CHECK(d.wait_for([](const Json& j) { return j.value("rule", "") == "Marker"; }, 5s));

  // The steady state's seccomp filter, on every thread.
  std::ifstream st("/proc/" + std::to_string(d.pid()) + "/status");
  std::string status((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
  CHECK(status.find("Seccomp:\t2") != std::string::npos);
  CHECK(eventually([&] {
    std::ifstream in(prog_log);
    std::string l;
    return std::getline(in, l) && l == "unshare_rc=1";
  }));
  CHECK(d.stop() == 0);
}

// Falco's stable rules compare fd.sip.name with host names, which starts a
// resolver thread while the rules load, before the drop: it must not leave
// the daemon holding every capability.
TEST_CASE("with Falco's rules loaded every thread holds only the reduced set" *
          PG_NEEDS_FALCO_FILES) {
  Daemon d({"run", "-c", "/dev/null", "-r", pg::test::falco_file("falco_rules.yaml"), "--json"});
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("capabilities reduced to") != std::string::npos);
  CHECK(d.stderr_text().find("cannot drop capabilities") == std::string::npos);
  const auto caps = cap_lines(d.pid());
  REQUIRE(caps.size() >= 3);
  for (const auto& l : caps) {
    INFO(l);
    // The four kept (see the test above), or nothing for the resolver.
    CHECK((l.ends_with("000000c000080004") || l.ends_with("0000000000000000")));
  }
  CHECK(d.stop() == 0);
}
