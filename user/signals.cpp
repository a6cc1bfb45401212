#include "user/signals.h"

#include <semaphore.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace pg::user {

namespace {

SignalFlags g_flags;
std::atomic<bool> g_detaching{false};
sem_t g_stop_sem;  // posted by the stop handler (sem_post is async-signal-safe)

struct Cleanups {
  std::mutex mu;
  std::map<int, std::function<void()>> fns;
  int next = 1;
};
// Never destroyed: the watchdog may run while static destructors do.
Cleanups& cleanups() {
  static auto* c = new Cleanups();
  return *c;
}

void on_stop(int) {
  // Only the first request arms the watchdog; a second SIGTERM changes nothing.
  if (!g_flags.stop.exchange(true)) sem_post(&g_stop_sem);
}
void on_hup(int) { g_flags.reload.store(true); }
void on_usr1(int) { g_flags.reopen.store(true); }
void on_ignored(int sig) { g_flags.ignored.store(sig); }
void on_interrupt(int) {}

void say(const char* text) {
  // Not spdlog: its sinks may be what is stuck.
  ssize_t n = ::write(2, text, std::strlen(text));
  (void)n;
}

// A job the watchdog thread runs for itself (see run_on_watchdog_thread).
std::function<void()> g_job;
std::atomic<bool> g_job_pending{false};
sem_t g_job_done;

void watchdog() {
  for (;;) {
    while (sem_wait(&g_stop_sem) != 0) {
    }
    if (!g_job_pending.exchange(false)) break;  // the stop
    g_job();
    sem_post(&g_job_done);
  }
  std::this_thread::sleep_for(kStopDeadline);
  // Detaching makes progress on its own; give it up to ten more seconds.
  for (int i = 0; i < 200 && g_detaching.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  say("peregrine: still not stopped 2.5 s after the stop signal (an output is blocked, e.g. a "
      "full stdout pipe nobody reads); removing pins and the control socket and exiting now\n");
  std::unique_lock lock(cleanups().mu, std::defer_lock);
  // A thread stuck while holding the lock must not stop the exit.
  for (int i = 0; i < 50 && !lock.try_lock(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (lock.owns_lock())
    for (auto& [id, fn] : cleanups().fns) fn();
  // Programs and links are file descriptors: the kernel detaches them as
  // the process ends.
  ::_exit(1);
}

void handle(int sig, void (*fn)(int), bool restart = true) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(sig, &sa, nullptr);
}

}  // namespace

bool run_on_watchdog_thread(std::function<void()> job) {
  install_signal_handlers();
  if (g_flags.stop.load()) return false;  // the watchdog is busy stopping
  g_job = std::move(job);
  g_job_pending.store(true);
  sem_post(&g_stop_sem);
  timespec until{};
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 2;
  while (sem_timedwait(&g_job_done, &until) != 0)
    if (errno != EINTR) return false;
  return true;
}

SignalFlags& install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    sem_init(&g_stop_sem, 0, 0);
    sem_init(&g_job_done, 0, 0);
    // The watchdog must never be the thread a process-directed signal is
    // delivered to: the handler's EINTR is meant for the thread that writes.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread(watchdog).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    // No SA_RESTART: a write blocked on a full pipe in the signalled thread
    // returns EINTR, so the writer can see the stop (user/cli/trace.cpp).
    handle(SIGINT, on_stop, false);
    handle(SIGTERM, on_stop, false);
    handle(SIGHUP, on_hup);
    handle(SIGUSR1, on_usr1);
    handle(SIGUSR2, on_ignored);
    handle(SIGALRM, on_ignored);
    interrupt_signal();
    std::signal(SIGPIPE, SIG_IGN);
  });
  return g_flags;
}

void log_ignored_signals(SignalFlags& flags) {
  if (int sig = flags.ignored.exchange(0))
    spdlog::warn("received SIG{} ({}); Peregrine gives it no meaning and keeps running",
                 sigabbrev_np(sig) ? sigabbrev_np(sig) : std::to_string(sig).c_str(),
                 strsignal(sig));
}

void note_detaching() noexcept { g_detaching.store(true); }

int add_exit_cleanup(std::function<void()> cleanup) {
  auto& c = cleanups();
  std::lock_guard lock(c.mu);
  const int id = c.next++;
  c.fns.emplace(id, std::move(cleanup));
  return id;
}

void remove_exit_cleanup(int id) {
  auto& c = cleanups();
  std::lock_guard lock(c.mu);
  c.fns.erase(id);
}

int interrupt_signal() {
  static std::once_flag once;
  std::call_once(once, [] { handle(SIGURG, on_interrupt, false); });
  return SIGURG;
}

}  // namespace pg::user
