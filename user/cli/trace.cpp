#include "user/cli/trace.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "user/cli/trace_output.h"
#include "user/signals.h"
#include "user/syscalls/pipeline.h"

namespace pg::user {

namespace {

struct TraceOptions {
  bool json = false;
  std::vector<std::string> syscalls;
  std::vector<uint32_t> pids;
  std::vector<std::string> comms;
  uint32_t ringbuf_mb = 8;
  bool raw_syscall_fallback = false;
};

bool wanted(const TraceOptions& o, const Event& e) {
  if (!o.pids.empty() && std::find(o.pids.begin(), o.pids.end(), e.task.tgid) == o.pids.end())
    return false;
  if (!o.comms.empty() && std::find(o.comms.begin(), o.comms.end(), e.task.comm) == o.comms.end())
    return false;
  if (!o.syscalls.empty() &&
      std::find(o.syscalls.begin(), o.syscalls.end(), e.type_name()) == o.syscalls.end())
    return false;
  return true;
}

// Write straight to fd 1 (no stdio buffer to flush at exit). A reader that
// stopped reading must not keep us from stopping: once a stop is asked
// for, a write the stop signal interrupted (EINTR) is abandoned, and no
// further line is written. True when the whole line was written.
bool write_or_give_up(std::string_view s, const std::atomic<bool>& stop) {
  while (!s.empty() && !stop.load(std::memory_order_relaxed)) {
    ssize_t n = ::write(1, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EPIPE (SIGPIPE is ignored): the reader is gone
    s.remove_prefix(size_t(n));
  }
  return s.empty();
}

int run_trace(const TraceOptions& o) {
  LoadOptions load;
  load.ringbuf_bytes = o.ringbuf_mb << 20;
  load.raw_syscall_fallback = o.raw_syscall_fallback;
  // Lifecycle hooks always load (the process table needs them); naming
  // them in --syscalls only chooses what is printed.
  for (const auto& h : all_hooks()) {
    bool named = std::any_of(o.syscalls.begin(), o.syscalls.end(),
                             [&](const auto& t) { return h.produces(t); });
    if (!h.lifecycle && (o.syscalls.empty() || named)) load.syscalls.emplace_back(h.name);
  }
  auto started = Pipeline::start(load);
  if (!started) {
    spdlog::error("{}", started.error());
    return 1;
  }
  Pipeline& pipeline = **started;
  spdlog::info(
      "tracing: {} programs attached ({}), {} processes read from /proc; "
      "ready",
      pipeline.attached().size(), fmt::join(pipeline.attached(), ", "),
      pipeline.seeded_processes());

  SignalFlags& signals = install_signal_handlers();
  auto& stop = signals.stop;
  uint64_t num = 0;
  // Events to print that were not (wholly) printed: those drained after
  // the stop request, and any whose write failed or was cut short.
  uint64_t unprinted = 0;
  std::string line;
  pipeline.run(
      stop,
      [&](const Event& e, const ProcessTable& procs, CgroupMap& cgroups) {
        ++num;
        if (!wanted(o, e)) return;
        if (stop.load(std::memory_order_relaxed)) {
          ++unprinted;  // not even formatted: the stop is bounded
          return;
        }
        auto fields = event_to_json(e, procs, num, &cgroups);
        line = o.json ? fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      : event_to_text(fields);
        line.push_back('\n');
        if (!write_or_give_up(line, stop)) ++unprinted;
      },
      [&] { log_ignored_signals(signals); });

  // Every event captured and not printed is reported lost, wherever it was
  // lost: in the kernel, left in the ring buffer when the bounded stop
  // ended, or read but not printed.
  const auto& st = pipeline.stats();
  const uint64_t kernel = st.kernel_lost();
  spdlog::info(
      "stopped: {} records received, {} lost ({} in the kernel, {} left unread in the ring "
      "buffer at stop, {} received but not printed), {} malformed",
      st.records, kernel + st.unread_at_stop + unprinted, kernel, st.unread_at_stop, unprinted,
      st.decode_errors);
  return 0;
}

}  // namespace

void add_trace_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TraceOptions>();
  auto* cmd = app.add_subcommand("trace", "Print captured events as they arrive (no rules)");
  cmd->add_flag("--json", opts->json, "One JSON object per line, keyed by Falco field names");
  cmd->add_option("--syscalls", opts->syscalls,
                  "Event types to capture and print (comma-separated); default all")
      ->delimiter(',')
      ->check(CLI::IsMember(captured_types()));
  cmd->add_option("--pid", opts->pids, "Only print events of these process ids")->delimiter(',');
  cmd->add_option("--comm", opts->comms, "Only print events of processes with this name")
      ->delimiter(',');
  cmd->add_option("--ring-buffer-mb", opts->ringbuf_mb, "Ring buffer size in MiB (power of two)")
      ->check(CLI::Range(1u, 1024u));
  cmd->add_flag("--raw-syscall-fallback", opts->raw_syscall_fallback,
                "Catch syscalls this kernel has no tracepoint for on the raw sys_exit "
                "tracepoint (every syscall of the node pays for it)");
  cmd->callback([opts, &exit_code] { exit_code = run_trace(*opts); });
}

}  // namespace pg::user
