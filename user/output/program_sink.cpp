// program: start `/bin/sh -c COMMAND` once and feed it one alert per line on
// its stdin. If it exits, it is started again for the next alert (no sooner
// than restart_delay after the previous start, so a command that dies at
// once is not respawned in a tight loop). With keep_alive false (Falco's
// default) every alert gets its own program, which sees end of input after
// the one line, as `jq … | curl -d @-` needs.
//
// SIGPIPE: writing to a pipe whose reader has gone raises SIGPIPE, which
// would kill the daemon unless it ignores the signal. We cannot rely on the
// process-wide disposition, so the sink blocks SIGPIPE in its own worker
// thread (the signal is thread-directed and stays pending there) and
// discards the pending signal after an EPIPE.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <thread>
#include <vector>

#include "user/output/fd_io.h"
#include "user/output/sinks.h"

extern char** environ;

namespace pg::user::output {
namespace {

using Clock = std::chrono::steady_clock;

class ProgramSink final : public Sink {
 public:
  explicit ProgramSink(ProgramSinkOptions opts) : opts_(std::move(opts)) {}
  ~ProgramSink() override { shut_down_child(); }
  std::string_view name() const override { return "program"; }

  void interrupt() noexcept override { interrupted_.store(true); }

  void maintain() override {
    reap_finished();
    if (!opts_.keep_alive) return;
    // Start at once rather than at the first alert, so a command that
    // cannot run shows up in the log right after startup.
    if (!started_once_) {
      if (auto r = start(); !r) spdlog::warn("program output: {}", r.error());
      return;
    }
    if (pid_ > 0 && reap(WNOHANG)) close_pipe();
  }

  Expected<void, std::string> deliver(const RenderedAlert& alert) override {
    detail::block_sigpipe_in_this_thread();
    const std::string& line = line_of(alert, opts_.format);
    std::string last_error;
    // Second attempt only when the first found the program gone (EPIPE):
    // the alert goes to the restarted program.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0) {
        if (auto r = start(); !r) return r;
      }
      int err = write_with_timeout(line);
      if (err == 0 && !opts_.keep_alive) return finish_one_shot();
      if (err == 0) return {};
      last_error = err == ETIMEDOUT ? "program did not read its input within the write timeout"
                                    : detail::errno_text(err);
      if (err != EPIPE) break;
      detail::discard_pending_sigpipe();
      close_pipe();
      reap(0);
    }
    return Unexpected("'" + opts_.command + "': " + last_error);
  }

 private:
  // keep_alive false: end the program's input and wait for it, as Falco's
  // pclose() does, but no longer than write_timeout; one still running then
  // is reaped later.
  Expected<void, std::string> finish_one_shot() {
    close_pipe();
    const auto deadline = Clock::now() + opts_.write_timeout;
    int status = 0;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 || Clock::now() >= deadline || interrupted_.load()) {
        if (r == 0) finishing_.push_back(pid_);
        pid_ = -1;
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      return Unexpected("'" + opts_.command + "' exited with status " +
                        std::to_string(WEXITSTATUS(status)));
    if (WIFSIGNALED(status))
      return Unexpected("'" + opts_.command + "' killed by signal " +
                        std::to_string(WTERMSIG(status)));
    return {};
  }

  void reap_finished() {
    std::erase_if(finishing_, [](pid_t p) {
      int st = 0;
      return ::waitpid(p, &st, WNOHANG) != 0;
    });
  }

  Expected<void, std::string> start() {
    if (started_once_ && opts_.keep_alive) {
      const auto earliest = last_start_ + opts_.restart_delay;
      while (Clock::now() < earliest && !interrupted_.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (interrupted_.load()) return Unexpected(std::string("shutting down"));
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Unexpected("pipe: " + detail::errno_text(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);  // dup2 clears CLOEXEC on fd 0
    posix_spawnattr_init(&attr);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    // The child starts with default signal handling and nothing blocked, not
    // with our worker thread's blocked SIGPIPE.
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const char* argv[] = {"sh", "-c", opts_.command.c_str(), nullptr};
    pid_t pid = -1;
    const int rc =
        posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(fds[0]);
    last_start_ = Clock::now();
    if (started_once_ && opts_.keep_alive)
      spdlog::info("program output: restarting '{}'", opts_.command);
    started_once_ = true;
    if (rc != 0) {
      ::close(fds[1]);
      return Unexpected("start /bin/sh -c '" + opts_.command + "': " + detail::errno_text(rc));
    }
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    pid_ = pid;
    fd_ = fds[1];
    return {};
  }

  // 0, or the errno that stopped the write (ETIMEDOUT when the program does
  // not drain the pipe in time).
  int write_with_timeout(const std::string& line) {
    std::string buf = line;
    buf.push_back('\n');
    size_t off = 0;
    const auto deadline = Clock::now() + opts_.write_timeout;
    while (off < buf.size()) {
      ssize_t n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n >= 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errno;
      if (Clock::now() >= deadline || interrupted_.load()) return ETIMEDOUT;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 50);
    }
    return 0;
  }

  // True when the child has exited (and is reaped).
  bool reap(int flags) {
    if (pid_ <= 0) return true;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, flags);
    if (r == 0) return false;
    if (r == pid_) {
      if (WIFEXITED(status))
        spdlog::warn(
            "program output: '{}' exited with status {}; it will be restarted for the "
            "next alert",
            opts_.command, WEXITSTATUS(status));
      else if (WIFSIGNALED(status))
        spdlog::warn(
            "program output: '{}' killed by signal {}; it will be restarted for the next "
            "alert",
            opts_.command, WTERMSIG(status));
    }
    pid_ = -1;
    return true;
  }

  void close_pipe() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Closing stdin is the normal way to ask a filter program to finish; give
  // it a moment, then insist.
  void shut_down_child() {
    for (pid_t p : finishing_) {
      int st = 0;
      if (::waitpid(p, &st, WNOHANG) == 0) {
        ::kill(p, SIGTERM);
        ::waitpid(p, &st, 0);
      }
    }
    finishing_.clear();
    close_pipe();
    if (pid_ <= 0) return;
    for (int i = 0; i < 50 && !reap(WNOHANG); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 50 && !reap(WNOHANG); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(0);
    }
  }

  ProgramSinkOptions opts_;
  pid_t pid_ = -1;
  int fd_ = -1;
  bool started_once_ = false;
  Clock::time_point last_start_{};
  std::atomic<bool> interrupted_{false};
  std::vector<pid_t> finishing_;  // one-shot programs still running after their alert
};

}  // namespace

Expected<std::unique_ptr<Sink>, std::string> make_program_sink(ProgramSinkOptions opts) {
  if (opts.command.empty()) return Unexpected(std::string("program output: no program given"));
  return std::unique_ptr<Sink>(std::make_unique<ProgramSink>(std::move(opts)));
}

}  // namespace pg::user::output
