// What an attacker or an unlucky operator does to the daemon itself: block
// its stdout and stop it, send it stray signals, plant symlinks where it
// writes, put a newline in a command line, hand it FIFOs and /dev/zero as
// input. Each case is a real daemon, real processes and real files.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

using namespace pg::e2e;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string open_rule(const std::string& name, const std::string& path, const std::string& out) {
  return "- rule: " + name + "\n  desc: test\n  condition: evt.type = openat and fd.name = \"" +
         path + "\"\n  output: \"" + out + "\"\n  priority: WARNING\n";
}

void open_n(const std::string& path, int n) {
  for (int i = 0; i < n; ++i) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
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

bool pins_left() { return !run_capture("ls /sys/fs/bpf/peregrine 2>/dev/null").empty(); }

// peregrine ARGS with stdout on a pipe that nobody reads (the read end is
// kept open, so writes block rather than fail) and stderr in a file.
struct BlockedDaemon {
  pid_t pid = -1;
  int read_end = -1;
  std::string err_path;
  BlockedDaemon(const std::vector<std::string>& args, const std::string& err) : err_path(err) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    read_end = p[0];
    pid = ::fork();
    if (pid == 0) {
      ::dup2(p[1], 1);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(e, 2);
      std::vector<char*> argv;
      std::string bin = peregrine_bin();
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(p[1]);
  }
  ~BlockedDaemon() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::close(read_end);
  }
  bool wait_stderr(const std::string& marker, std::chrono::milliseconds limit = 30s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (slurp(err_path).find(marker) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  // Some thread of the daemon sleeps in write(2) on the full pipe.
  bool blocked_writing() const {
    std::error_code ec;
    for (const auto& t :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
      if (slurp(t.path().string() + "/wchan").find("pipe_write") != std::string::npos) return true;
    return false;
  }
  // SIGTERM; how long until the process was gone (ms), -1 past `limit`.
  long long stop_ms(int sig, std::chrono::milliseconds limit = 10s) {
    const auto t0 = std::chrono::steady_clock::now();
    ::kill(pid, sig);
    while (std::chrono::steady_clock::now() - t0 < limit) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
            .count();
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
};

}  // namespace

TEST_CASE(
    "run: SIGTERM with stdout blocked ends within 3 s and leaves no programs, pins or socket") {
  TempDir dir;
  const std::string target = dir.path + "/flood";
  const std::string rules = dir.path + "/r.yaml";
  const std::string sock = dir.path + "/ctl.sock";
  write_file(rules, open_rule("Flood", target,
                              "flood %fd.name " + std::string(200, 'x') + " %proc.cmdline"));
  const int before = count_our_programs();
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    BlockedDaemon d(
        {"run", "-c", "/dev/null", "-r", rules, "--json", "-o", "control_socket=" + sock},
        dir.path + "/err");
    REQUIRE(d.wait_stderr("ready"));
    // Fill the pipe (64 KiB) and then some, so the stdout sink is stuck in write().
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (!d.blocked_writing() && std::chrono::steady_clock::now() < end) open_n(target, 200);
    REQUIRE(d.blocked_writing());
    open_n(target, 500);  // and more alerts queued behind it
    const long long ms = d.stop_ms(sig);
    INFO(slurp(d.err_path));
    CHECK(ms >= 0);
    CHECK(ms < 3000);
    CHECK(programs_settle_at(before) <= before);  // none of this run's left
    CHECK_FALSE(pins_left());
    CHECK_FALSE(std::filesystem::exists(sock));
  }
}

TEST_CASE("trace: SIGTERM with stdout blocked ends within 3 s and leaves no programs or pins") {
  TempDir dir;
  const int before = count_our_programs();
  // Few programs: detaching each costs an RCU grace period, and sixty of
  // them take seconds on a loaded machine whatever the outputs do.
  BlockedDaemon d({"trace", "--json", "--syscalls", "openat"}, dir.path + "/err");
  REQUIRE(d.wait_stderr("ready"));
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (!d.blocked_writing() && std::chrono::steady_clock::now() < end)
    open_n(dir.path + "/f", 200);
  REQUIRE(d.blocked_writing());
  const long long ms = d.stop_ms(SIGTERM);
  INFO(slurp(d.err_path));
  CHECK(ms >= 0);
  CHECK(ms < 3000);
  CHECK(programs_settle_at(before) <= before);  // none of this run's left
  CHECK_FALSE(pins_left());
}

TEST_CASE("SIGUSR1, SIGUSR2, SIGALRM and SIGPIPE leave the daemon running and alerting") {
  TempDir dir;
  const std::string marker = dir.path + "/marker";
  const std::string rules = dir.path + "/r.yaml";
  const std::string out = dir.path + "/alerts.txt";
  write_file(rules, open_rule("Marker", marker, "marker %fd.name"));
  {
    Daemon d({"run", "-c", "/dev/null", "-r", rules, "--json", "-o", "file_output.enabled=true",
              "-o", "file_output.filename=" + out, "-o",
              "control_socket=" + dir.path + "/ctl.sock"});
    REQUIRE(d.ready());
    int round = 0;
    for (int sig : {SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE}) {
      CAPTURE(sig);
      if (sig == SIGUSR1) std::filesystem::rename(out, out + ".1");  // logrotate
      REQUIRE(::kill(d.pid(), sig) == 0);
      std::this_thread::sleep_for(100ms);
      REQUIRE(d.running());
      ++round;
      open_n(marker, 1);
      auto count = [&] {
        return d.all([](const Json& j) { return j.value("rule", "") == "Marker"; }).size();
      };
      const auto end = std::chrono::steady_clock::now() + 5s;
      while (count() < size_t(round) && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(20ms);
      CHECK(count() == size_t(round));
    }
    // SIGUSR1 reopened the file output: the alerts after it are in a new file.
    CHECK(slurp(out).find("marker") != std::string::npos);
    const std::string err = d.stderr_text();
    CHECK(err.find("SIGUSR1") != std::string::npos);
    CHECK(err.find("received SIGUSR2") != std::string::npos);
    CHECK(err.find("received SIGALRM") != std::string::npos);
    CHECK(d.stop() == 0);
  }
  CHECK_FALSE(pins_left());
}

TEST_CASE("a symlink planted at the --record or file output path is not followed") {
  TempDir dir;
  // A directory anyone may write to (like /tmp), a root-owned file outside it.
  const std::string shared = dir.path + "/shared";
  std::filesystem::create_directory(shared);
  ::chmod(shared.c_str(), 01777);
  ::chmod(dir.path.c_str(), 0755);
  const std::string victim = dir.path + "/victim";
  write_file(victim, "root's file\n");
  ::chmod(victim.c_str(), 0644);
  const std::string rules = dir.path + "/r.yaml";
  write_file(rules, open_rule("Marker", dir.path + "/marker", "marker"));
  // A normal user plants the links.
  pid_t p = ::fork();
  if (p == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    ::_exit(::symlink(victim.c_str(), (shared + "/rec").c_str()) != 0 ||
            ::symlink(victim.c_str(), (shared + "/out").c_str()) != 0);
  }
  int status = 0;
  ::waitpid(p, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  struct stat st {};
  REQUIRE(::lstat((shared + "/rec").c_str(), &st) == 0);
  REQUIRE(st.st_uid == 65534);

  const std::string base = peregrine_bin() + " run -c /dev/null -r " + rules +
                           " -o control_socket=" + dir.path + "/ctl.sock ";
  std::string r =
      run_capture("timeout 60 " + base + "--record " + shared + "/rec 2>&1; echo rc=$?");
  CHECK(r.find("symbolic link") != std::string::npos);
  CHECK(r.find("rc=1") != std::string::npos);
  r = run_capture("timeout 60 " + base + "-o file_output.enabled=true -o file_output.filename=" +
                  shared + "/out 2>&1; echo rc=$?");
  CHECK(r.find("symbolic link") != std::string::npos);
  CHECK(r.find("rc=1") != std::string::npos);
  CHECK(slurp(victim) == "root's file\n");
  CHECK_FALSE(pins_left());
}

TEST_CASE("a newline in a real process's argv cannot forge a line of text output") {
  TempDir dir;
  const std::string marker = dir.path + "/marker";
  const std::string rules = dir.path + "/r.yaml";
  write_file(rules, open_rule("Marker", marker, "marker opened by %proc.cmdline"));
  write_file(marker, "x\n");
  Daemon d(
      {"run", "-c", "/dev/null", "-r", rules, "-o", "control_socket=" + dir.path + "/ctl.sock"});
  REQUIRE(d.ready());
  const std::string forged = "\n12:00:00.000000000: Critical Forged line";
  pid_t p = ::fork();
  if (p == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl("/bin/cat", "cat", marker.c_str(), forged.c_str(), nullptr);
    ::_exit(127);
  }
  ::waitpid(p, nullptr, 0);
  std::vector<std::string> lines;
  const auto end = std::chrono::steady_clock::now() + 5s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < end) {
    lines = d.stdout_lines();
    for (const auto& l : lines) seen = seen || l.find("marker opened by cat") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(seen);
  for (const auto& l : lines) {
    CHECK_FALSE(l.starts_with("12:00:00"));
    if (l.find("marker opened by") != std::string::npos)
      CHECK(l.find("\\n12:00:00.000000000: Critical Forged line") != std::string::npos);
  }
  CHECK(d.stop() == 0);
}

TEST_CASE(
    "/dev/zero and a FIFO as -r, -c and policy load are refused quickly, the daemon unchanged") {
  TempDir dir;
  const std::string fifo = dir.path + "/in.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string marker = dir.path + "/marker";
  const std::string rules = dir.path + "/r.yaml";
  write_file(rules, open_rule("Marker", marker, "marker %fd.name"));
  auto timed = [](const std::string& cmd, long long& ms) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string out = run_capture("timeout 20 " + cmd + " 2>&1; echo rc=$?");
    ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    return out;
  };
  long long ms = 0;
  for (const std::string& bad : {std::string("/dev/zero"), fifo}) {
    CAPTURE(bad);
    std::string out = timed(peregrine_bin() + " run -c /dev/null -r " + bad, ms);
    CHECK(out.find("not a regular file") != std::string::npos);
    CHECK(out.find("rc=1") != std::string::npos);
    CHECK(ms < 2000);
    out = timed(peregrine_bin() + " run -c " + bad + " -r " + rules, ms);
    CHECK(out.find("not a regular file") != std::string::npos);
    CHECK(out.find("rc=1") != std::string::npos);
    CHECK(ms < 2000);
    out = timed(peregrine_bin() + " rules validate " + bad, ms);
    CHECK(out.find("not a regular file") != std::string::npos);
    CHECK(ms < 2000);
  }
  const std::string sock = dir.path + "/ctl.sock";
  Daemon d({"run", "-c", "/dev/null", "-r", rules, "--json", "-o", "control_socket=" + sock});
  REQUIRE(d.ready());
  for (const std::string& bad : {std::string("/dev/zero"), fifo}) {
    CAPTURE(bad);
    std::string out = timed(peregrine_bin() + " policy load evil " + bad + " --socket " + sock, ms);
    CHECK(out.find("not a regular file") != std::string::npos);
    CHECK(out.find("rc=0") == std::string::npos);
    CHECK(ms < 2000);
  }
  // Still the one policy it started with (the counters in the listing move on).
  const std::string after = run_capture(peregrine_bin() + " policy list --socket " + sock);
  CHECK(after.find("default") != std::string::npos);
  CHECK(after.find("evil") == std::string::npos);
  open_n(marker, 1);
  CHECK(d.wait_for([](const Json& j) { return j.value("rule", "") == "Marker"; }));
  CHECK(d.stop() == 0);
}
