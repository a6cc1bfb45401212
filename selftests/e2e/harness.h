// End-to-end test harness: runs the real peregrine binary as a child
// process, collects what it prints, and lets a test wait for the events its
// own real actions caused.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pg::e2e {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Path of the binary under test (PEREGRINE_BIN, default build/peregrine).
std::string peregrine_bin();

class Daemon {
 public:
  // Start `peregrine ARGS...`; when `ready_marker` is non-empty, wait until
  // stderr contains it (or the process dies / times out).
  explicit Daemon(std::vector<std::string> args, std::string ready_marker = "ready",
                  uid_t run_as = 0);
  // Any program in place of the binary under test (argv[0] is looked up in
  // PATH): `podman run IMAGE ...` runs Peregrine from its image.
  struct Command {
    std::vector<std::string> argv;
  };
  explicit Daemon(Command cmd, std::string ready_marker = "ready");
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

  // The first JSON line of stdout satisfying pred, waiting up to timeout.
  std::optional<Json> wait_for(const std::function<bool(const Json&)>& pred,
                               std::chrono::milliseconds timeout = 5s);
  // All JSON lines of stdout so far satisfying pred.
  std::vector<Json> all(const std::function<bool(const Json&)>& pred);
  std::vector<std::string> stdout_lines();

  // Wait for the process to exit on its own; its exit status, or -1 if it
  // is still running after `timeout`.
  int wait_exit(std::chrono::milliseconds timeout = 10s);
  // SIGTERM, then wait; returns the exit status (-1 if it had to be killed).
  int stop(std::chrono::milliseconds grace = 10s);
  bool running();
  std::string stderr_text();

 private:
  void start(std::vector<std::string> argv, const std::string& ready_marker, uid_t run_as);
  void read_stdout(int fd);
  pid_t pid_ = -1;
  int exit_status_ = -1;
  bool ready_ = false;
  std::string stderr_path_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// A fresh directory under /tmp, removed by the destructor.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

// The output of a shell command (stdout), for tools such as bpftool.
std::string run_capture(const std::string& cmd);

// Build the trigger program selftests/e2e/progs/NAME.c into `dir` (cc, with
// `extra` flags); its path. Fails the test when it does not build.
std::string build_prog(const std::string& name, const std::string& dir,
                       const std::string& extra = "");

// Whether `pred` holds within `timeout`, polling every 20 ms (a long
// default: it only matters when the test is failing anyway).
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace pg::e2e
