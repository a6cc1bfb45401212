#include "harness.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pg::e2e {

std::string peregrine_bin() {
  const char* env = std::getenv("PEREGRINE_BIN");
  return env ? env : "build/peregrine";
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string build_prog(const std::string& name, const std::string& dir,
                       const std::string& extra) {
  const std::string out = dir + "/" + name;
  const std::string log =
      run_capture("cc -O2 -o " + out + " selftests/e2e/progs/" + name + ".c " + extra + " 2>&1");
  REQUIRE_MESSAGE(std::filesystem::exists(out), "cannot build " << name << ": " << log);
  return out;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/pg-e2e-XXXXXX";
  path = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Daemon::Daemon(std::vector<std::string> args, std::string ready_marker, uid_t run_as) {
  args.insert(args.begin(), peregrine_bin());
  start(std::move(args), ready_marker, run_as);
}

Daemon::Daemon(Command cmd, std::string ready_marker) {
  start(std::move(cmd.argv), ready_marker, 0);
}

void Daemon::start(std::vector<std::string> args, const std::string& ready_marker, uid_t run_as) {
  char tmpl[] = "/tmp/pg-e2e-stderr-XXXXXX";
  int err_fd = mkstemp(tmpl);
  stderr_path_ = tmpl;
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    if (run_as != 0 && (setgid(run_as) != 0 || setuid(run_as) != 0)) _exit(126);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_fd);
  reader_ = std::thread([this, fd = out_pipe[0]] { read_stdout(fd); });
  if (ready_marker.empty()) return;
  // Loading and verifying the programs takes a few seconds on a quiet
  // machine; a busy one (CI's neighbours, a parallel build) can take several
  // times that. Generous: a daemon that never gets ready still fails.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stderr_text().find(ready_marker) != std::string::npos) {
      ready_ = true;
      return;
    }
    if (!running()) return;
    std::this_thread::sleep_for(20ms);
  }
}

Daemon::~Daemon() {
  stop();
  if (reader_.joinable()) reader_.join();
  unlink(stderr_path_.c_str());
}

void Daemon::read_stdout(int fd) {
  std::string partial;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    partial.append(buf, size_t(n));
    size_t pos;
    std::lock_guard lock(mu_);
    while ((pos = partial.find('\n')) != std::string::npos) {
      lines_.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    cv_.notify_all();
  }
  close(fd);
}

std::vector<std::string> Daemon::stdout_lines() {
  std::lock_guard lock(mu_);
  return lines_;
}

std::optional<Json> Daemon::wait_for(const std::function<bool(const Json&)>& pred,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t seen = 0;
  std::unique_lock lock(mu_);
  while (true) {
    for (; seen < lines_.size(); ++seen) {
      auto j = Json::parse(lines_[seen], nullptr, false);
      if (!j.is_discarded() && pred(j)) return j;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; seen < lines_.size(); ++seen) {
        auto j = Json::parse(lines_[seen], nullptr, false);
        if (!j.is_discarded() && pred(j)) return j;
      }
      return std::nullopt;
    }
  }
}

std::vector<Json> Daemon::all(const std::function<bool(const Json&)>& pred) {
  std::vector<Json> out;
  for (const auto& l : stdout_lines()) {
    auto j = Json::parse(l, nullptr, false);
    if (!j.is_discarded() && pred(j)) out.push_back(std::move(j));
  }
  return out;
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return r == 0;
}

int Daemon::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  if (pid_ > 0) return -1;
  if (reader_.joinable()) reader_.join();
  return exit_status_;
}

int Daemon::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0 && running()) {
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      exit_status_ = -1;
    }
  }
  if (reader_.joinable()) reader_.join();
  return exit_status_;
}

std::string Daemon::stderr_text() {
  std::ifstream in(stderr_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace pg::e2e
