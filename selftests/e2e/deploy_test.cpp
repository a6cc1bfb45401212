// Deployment, for real: the Debian package installed with apt
// and purged, `make install` into a staging root, the systemd unit checked
// by systemd-analyze, and the container image running under podman with
// the host mounted under /host, catching an attack on the host and one in
// another container.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "podman.h"

using namespace pg::e2e;
namespace fs = std::filesystem;

namespace {

int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The GNU build id of an ELF file, as hex ("" when it has none).
std::string build_id(const std::string& elf) {
  std::string out =
      run_capture("readelf -n " + elf + " 2>/dev/null | sed -n 's/^ *Build ID: *//p' | head -1");
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

int count_our_programs() {
  std::string out = run_capture("bpftool prog show 2>/dev/null");
  int n = 0;
  for (size_t pos = 0; (pos = out.find(" name pg_", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

// Our programs left once the count settles at `n` (or after 5 s). The
// 32-bit hook's per-call programs sit in a tail-call array, which the
// kernel empties from a work queue after the last descriptor closes: they
// outlive the process by a moment.
int programs_settle_at(int n) {
  int now = count_our_programs();
  for (int i = 0; i < 50 && now != n; ++i) {
    usleep(100 * 1000);
    now = count_our_programs();
  }
  return now;
}

// `systemd-analyze verify` on a unit: its exit code and everything it said
// (a clean unit says nothing).
std::pair<int, std::string> verify_unit(const std::string& unit) {
  TempDir t;
  int rc = shell("systemd-analyze verify " + unit + " >" + t.path + "/out 2>&1");
  return {rc, slurp(t.path + "/out")};
}

const char* kCredentialRule = "Credential file read by unexpected program";

// An attacker's read of /etc/shadow through a shell, on the host.
void read_shadow_on_host() { shell("sh -c 'cat /etc/shadow >/dev/null'"); }

}  // namespace

TEST_CASE("deploy: the systemd unit passes systemd-analyze verify; a broken one does not") {
  TempDir t;
  const std::string bindir = fs::absolute("build").string();
  const std::string unit = t.path + "/peregrine.service";
  REQUIRE(shell("sed 's|@BINDIR@|" + bindir + "|g' deploy/systemd/peregrine.service.in >" + unit) ==
          0);
  auto [rc, out] = verify_unit(unit);
  CHECK_MESSAGE(rc == 0, out);
  CHECK_MESSAGE(out.empty(), out);
  const std::string text = slurp(unit);
  for (const char* must : {"CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_ADMIN",
                           "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=",
                           "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID"})
    CHECK_MESSAGE(text.find(must) != std::string::npos, must);
  // The check can fail: a misspelt key and a missing binary are reported.
  std::ofstream(unit, std::ios::app) << "[Service]\nProtectSytem=strict\n";
  auto bad = verify_unit(unit);
  CHECK(bad.second.find("ProtectSytem") != std::string::npos);
  REQUIRE(shell("sed 's|@BINDIR@|/nonexistent|g' deploy/systemd/peregrine.service.in >" + unit) ==
          0);
  CHECK(verify_unit(unit).first != 0);
}

// Where the default ruleset (every rules/*.yaml) is installed.
static std::vector<std::string> default_rules_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("rules"))
    if (e.path().extension() == ".yaml")
      out.push_back("/etc/peregrine/rules.d/" + e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE(
    "deploy: make install honours PREFIX and DESTDIR; the binary is stripped, its debug "
    "information apart where gdb finds it") {
  TempDir t;
  const std::string dest = t.path + "/root";
  REQUIRE(shell("BUILD=build PREFIX=/opt/pg DESTDIR=" + dest + " scripts/install.sh >/dev/null") ==
          0);
  const std::string bin = dest + "/opt/pg/bin/peregrine";
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  CHECK(run_capture("readelf -S " + bin + " | grep -c '\\.symtab'").starts_with("0"));
  CHECK(run_capture("readelf -S " + bin + " | grep -c '\\.debug_info'").starts_with("0"));
  CHECK(run_capture("readelf -S " + bin + " | grep -c '\\.gnu_debuglink'").starts_with("1"));
  // The debug file: under the build id of the binary it was split from,
  // holding the DWARF, and read by gdb for the installed binary.
  const std::string id = build_id("build/peregrine");
  REQUIRE(id.size() > 2);
  const std::string debug_dir = dest + "/usr/lib/debug";
  const std::string debug =
      debug_dir + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
  REQUIRE_MESSAGE(fs::exists(debug), debug);
  CHECK(build_id(bin) == id);
  CHECK(build_id(debug) == id);
  CHECK_FALSE(run_capture("readelf -S " + debug + " | grep -c '\\.debug_info'").starts_with("0"));
  const std::string gdb = run_capture("gdb -batch -nx -iex 'set debug-file-directory " + debug_dir +
                                      "' -ex 'info line pg::policy::lower_rule' " + bin + " 2>&1");
  CHECK_MESSAGE(gdb.find("policy/lowering.cpp") != std::string::npos, gdb);
  // Without the debug file, gdb has no lines for it: they came from there.
  const std::string bare = run_capture(
      "gdb -batch -nx -iex 'set debug-file-directory /nonexistent' "
      "-ex 'info line pg::policy::lower_rule' " +
      bin + " 2>&1");
  CHECK_MESSAGE(bare.find("policy/lowering.cpp") == std::string::npos, bare);
  CHECK(fs::exists(dest + "/etc/peregrine/peregrine.yaml"));
  for (const auto& f : default_rules_files()) CHECK_MESSAGE(fs::exists(dest + f), f);
  const std::string unit = slurp(dest + "/opt/pg/lib/systemd/system/peregrine.service");
  CHECK(unit.find("ExecStart=/opt/pg/bin/peregrine run -c /etc/peregrine/peregrine.yaml") !=
        std::string::npos);
  // A second install keeps an edited configuration.
  std::ofstream(dest + "/etc/peregrine/peregrine.yaml") << "priority: error\n";
  REQUIRE(shell("BUILD=build PREFIX=/opt/pg DESTDIR=" + dest + " scripts/install.sh >/dev/null") ==
          0);
  CHECK(slurp(dest + "/etc/peregrine/peregrine.yaml") == "priority: error\n");
}

TEST_CASE(
    "deploy: the .deb installs with apt, its peregrine run alerts with the installed "
    "config and rules, and purge leaves nothing") {
  shell("dpkg --purge peregrine >/dev/null 2>&1");  // a previous run's leftovers
  TempDir t;
  REQUIRE(shell("BUILD=build scripts/make-deb.sh >" + t.path + "/deb.log 2>&1") == 0);
  const std::string deb = run_capture("ls build/peregrine_*.deb | head -1");
  REQUIRE(!deb.empty());
  const std::string deb_path = "./" + deb.substr(0, deb.find('\n'));
  REQUIRE_MESSAGE(shell("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                        "--no-install-recommends " +
                        deb_path + " >" + t.path + "/apt.log 2>&1") == 0,
                  slurp(t.path + "/apt.log"));
  // The package's binary is stripped; its debug information is the
  // package beside it (peregrine-dbgsym), not this one.
  CHECK(run_capture("dpkg-deb -c " + deb_path + " | grep -c '/usr/lib/debug'").starts_with("0"));
  const std::string dbgsym = run_capture("dpkg-deb -c build/peregrine-dbgsym_*.deb");
  CHECK_MESSAGE(dbgsym.find("/usr/lib/debug/.build-id/") != std::string::npos, dbgsym);
  const std::string listed = run_capture("dpkg -L peregrine");
  std::vector<std::string> expected{"/usr/bin/peregrine", "/etc/peregrine/peregrine.yaml",
                                    "/usr/lib/systemd/system/peregrine.service"};
  for (const auto& f : default_rules_files()) expected.push_back(f);
  for (const auto& f : expected) {
    CHECK_MESSAGE(listed.find(f) != std::string::npos, f);
    CHECK_MESSAGE(fs::exists(f), f);
  }
  CHECK(run_capture("dpkg-query -W -f='${Conffiles}' peregrine")
            .find("/etc/peregrine/peregrine.yaml") != std::string::npos);
  auto [rc, out] = verify_unit("/usr/lib/systemd/system/peregrine.service");
  CHECK_MESSAGE(rc == 0, out);

  {
    // The installed binary with the installed configuration and rules
    // (only the alert format is switched to JSON for the harness).
    const int before = count_our_programs();
    Daemon d(Daemon::Command{{"/usr/bin/peregrine", "run", "-o", "json_output=true"}});
    REQUIRE_MESSAGE(d.ready(), d.stderr_text());
    const std::string loaded = fmt::format("from {} files", default_rules_files().size());
    CHECK_MESSAGE(d.stderr_text().find(loaded) != std::string::npos, d.stderr_text());  // rules.d
    read_shadow_on_host();
    auto a = d.wait_for(
        [](const Json& j) {
          return j.value("rule", "") == kCredentialRule &&
                 j["output_fields"].value("proc.name", "") == "cat";
        },
        10s);
    CHECK_MESSAGE(a, d.stderr_text());
    CHECK(d.stop() == 0);
    CHECK(programs_settle_at(before) <= before);  // none of this run's left
  }

  REQUIRE(shell("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq peregrine >" + t.path +
                "/purge.log 2>&1") == 0);
  CHECK(shell("dpkg -s peregrine >/dev/null 2>&1") != 0);
  std::istringstream files(listed);
  for (std::string f; std::getline(files, f);) {
    if (f.empty() || f == "/." || fs::is_directory(f)) continue;  // shared directories stay
    CHECK_MESSAGE(!fs::exists(f), f);
  }
  for (const char* d : {"/etc/peregrine", "/usr/share/doc/peregrine", "/run/peregrine"})
    CHECK_MESSAGE(!fs::exists(d), d);
  CHECK(run_capture("ls /sys/fs/bpf/peregrine 2>/dev/null").empty());
}

namespace {

std::string lines(Daemon& d) {
  std::string out;
  for (const auto& l : d.stdout_lines()) out += l + "\n";
  return out;
}

int count_links() {
  Json links = Json::parse(run_capture("bpftool link show --json 2>/dev/null"), nullptr, false);
  return links.is_array() ? int(links.size()) : -1;
}

// What the containerized daemon needs, and no more: see docs/deploy.md.
const std::vector<std::string> kCaps = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE",
                                        "CAP_DAC_READ_SEARCH"};

}  // namespace

TEST_CASE(
    "deploy: the image under podman, host mounted at /host, alerts for a host and a "
    "container attack as node-x, and leaves nothing behind") {
  podman::Api api;  // the busybox image, and the API the daemon names containers with
  TempDir t;
  const auto built = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(shell("BUILD=build scripts/make-image.sh >" + t.path + "/image.log 2>&1") == 0,
                  slurp(t.path + "/image.log"));
  MESSAGE(slurp(t.path + "/image.log"), " in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - built).count(), " s");
  // The host's tracefs, for the container to bind (on the host the daemon
  // mounts it itself).
  shell("mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing");
  const std::string name = "pg-e2e-node-" + std::to_string(getpid());
  const int progs_before = count_our_programs(), links_before = count_links();
  std::string caps;
  for (const auto& c : kCaps) caps += (caps.empty() ? "" : ",") + c;
  std::vector<std::string> argv = {"podman",
                                   "--runtime",
                                   "runc",
                                   "--cgroup-manager=cgroupfs",
                                   "run",
                                   "--rm",
                                   "--name",
                                   name,
                                   "--pid",
                                   "host",
                                   "--cgroupns",
                                   "host",
                                   "--network",
                                   "host",
                                   "--ulimit",
                                   "nofile=1024:1024",
                                   "--ulimit",
                                   "nproc=1024:1024",
                                   "--cap-drop",
                                   "all",
                                   "--cap-add",
                                   caps,
                                   "-v",
                                   "/sys/kernel/tracing:/sys/kernel/tracing",
                                   "-v",
                                   "/sys/fs/bpf:/sys/fs/bpf",
                                   "-v",
                                   "/proc:/host/proc:ro",
                                   "-v",
                                   "/sys/fs/cgroup:/host/sys/fs/cgroup:ro",
                                   "-v",
                                   "/etc/passwd:/host/etc/passwd:ro",
                                   "-v",
                                   "/etc/group:/host/etc/group:ro",
                                   "-v",
                                   api.socket + ":/host/run/podman/podman.sock",
                                   "-e",
                                   "HOST_ROOT=/host",
                                   "-e",
                                   "FALCO_HOSTNAME=node-x",
                                   "localhost/peregrine:latest",
                                   "-o",
                                   "json_output=true",
                                   "-o",
                                   "container.docker_socket="};
  const std::string victim = "pg-e2e-victim-" + std::to_string(getpid());
  const std::string victim_id = api.start(victim);
  {
    Daemon d(Daemon::Command{argv});
    REQUIRE_MESSAGE(d.ready(), d.stderr_text());

    read_shadow_on_host();
    auto host = d.wait_for(
        [](const Json& j) {
          return j.value("rule", "") == kCredentialRule &&
                 j["output_fields"].value("proc.name", "") == "cat" &&
                 j["output_fields"].value("container.id", "host") == "host";
        },
        10s);
    REQUIRE_MESSAGE(host, (d.stderr_text() + lines(d)));
    CHECK((*host)["hostname"] == "node-x");
    CHECK((*host)["output_fields"]["user.name"] == "root");  // from the host's /etc/passwd

    // The busybox image has no /etc/shadow: the attacker's file stands in.
    shell(podman::kPodman + " exec " + victim +
          " sh -c 'mkdir -p /etc && echo root:x: >/etc/shadow && cat /etc/shadow' >/dev/null 2>&1");
    auto in_container = d.wait_for(
        [&](const Json& j) {
          return j.value("rule", "") == kCredentialRule &&
                 j["output_fields"].value("container.id", "") == victim_id.substr(0, 12);
        },
        10s);
    REQUIRE_MESSAGE(in_container, (d.stderr_text() + lines(d)));
    CHECK((*in_container)["hostname"] == "node-x");
    const Json& f = (*in_container)["output_fields"];
    CHECK(f["container.name"] == victim);
    CHECK(f["container.image.repository"] == podman::kImage);
    CHECK(f["proc.name"] == "cat");

    CHECK(d.stop() == 0);
    CHECK(d.stderr_text().find("stopped:") != std::string::npos);
  }
  CHECK(programs_settle_at(progs_before) <= progs_before);
  CHECK(count_links() == links_before);
  CHECK(run_capture("ls /sys/fs/bpf/peregrine 2>/dev/null").empty());
  CHECK(shell(podman::kPodman + " container exists " + name) != 0);  // --rm removed it
}
