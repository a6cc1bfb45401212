// Signals for the long-running commands (`run`, `trace`), and the promise
// that a stop request ends the process within a bounded time whatever the
// outputs do.
//
//   SIGINT, SIGTERM   stop; after kStopDeadline a watchdog runs the
//                     registered cleanups (pins, the control socket) and
//                     exits, even if a sink is stuck writing to a pipe
//                     nobody reads
//   SIGHUP            reload the rules and reopen outputs (`run`)
//   SIGUSR1           reopen outputs (Falco's convention, for logrotate)
//   SIGUSR2, SIGALRM  logged and otherwise ignored (their default would
//                     kill the daemon and leave its pins behind)
//   SIGPIPE           ignored: a write to a closed pipe fails with EPIPE,
//                     which the writer counts
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

namespace pg::user {

// How long a stop may take from the signal to the process's end.
inline constexpr std::chrono::milliseconds kStopDeadline{2500};

struct SignalFlags {
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};  // SIGHUP
  std::atomic<bool> reopen{false};  // SIGUSR1
  // The last signal that is only logged (SIGUSR2, SIGALRM), 0 when none.
  std::atomic<int> ignored{0};
};

// Install every handler above (idempotent) and start the stop watchdog.
SignalFlags& install_signal_handlers();
// Run `job` on the watchdog thread and wait for it (at most 2 s): what a
// thread can only do for itself, such as dropping its own capabilities.
// False when it did not run (a stop is under way, or it timed out).
bool run_on_watchdog_thread(std::function<void()> job);

// Log a line for an ignored signal that arrived since the last call; called
// from the event loop (a handler must not log).
void log_ignored_signals(SignalFlags& flags);

// What the watchdog must undo when it ends the process itself: remove a
// pin or a socket file. Runs on the watchdog thread while other threads
// may still be stuck, so it must only touch its own copies. Returns an id
// for remove_exit_cleanup (call it when the object cleans up normally).
int add_exit_cleanup(std::function<void()> cleanup);

// The outputs are done and the programs are being detached: bounded work
// (an RCU grace period per program, seconds for sixty on a loaded machine)
// that the watchdog lets finish rather than cut short.
void note_detaching() noexcept;
void remove_exit_cleanup(int id);

// A no-op handler for `signo`, installed without SA_RESTART, so that
// pthread_kill(thread, signo) makes a blocking write in that thread return
// EINTR (how a stuck stdout write is abandoned at shutdown).
int interrupt_signal();

}  // namespace pg::user
