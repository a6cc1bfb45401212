// The alert output pipeline: one bounded queue in front of every sink.
//
//   event loop ──enqueue()──► [main queue] ──fan-out thread──► [sink queue] ─► sink thread ─►
//   stdout
//                                           (renders JSON and   [sink queue] ─► sink thread ─► http
//                                            text once)          …
//
// Why one thread and one bounded queue per sink: sinks fail and stall
// independently (a webhook that answers in 30 s, a program that stops
// reading its stdin, a full disk). With a shared worker, one slow sink would
// hold every other sink's alerts behind it; with its own queue, a stalled
// sink only fills that queue, and its excess is dropped and counted against
// that sink while stdout, file and syslog keep flowing. The cost is at most
// five threads. Rendering happens on the fan-out thread so the event loop
// only moves an Alert into a preallocated slot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "user/output/alert.h"
#include "user/output/queue.h"
#include "user/output/shedding.h"
#include "user/output/sink.h"

namespace pg::user::output {

// A snapshot of the counters, for logs and the metrics endpoint.
struct SinkStats {
  std::string name;
  std::uint64_t delivered = 0;  // alerts the sink accepted
  std::uint64_t failed = 0;     // alerts the sink gave up on (after its retries)
  std::uint64_t dropped = 0;    // alerts refused because the sink's queue was full
  std::uint64_t aggregated = 0;  // repeats counted in this sink's summary alerts
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
};

struct OutputStats {
  std::uint64_t enqueued = 0;     // alerts accepted by enqueue()
  std::uint64_t aggregated = 0;   // repeats counted in summary alerts instead, by the shared
                                  // queue and the sinks' (shedding.h)
  std::uint64_t queue_drops = 0;  // alerts refused by enqueue() (main queue full or stopped)
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
  std::vector<SinkStats> sinks;

  // Every alert lost anywhere in the pipeline.
  std::uint64_t total_lost() const;
};

class Dispatcher {
 public:
  struct Options {
    std::size_t queue_capacity = 8192;       // main queue
    std::size_t sink_queue_capacity = 1024;  // each sink's own queue
    FormatOptions format;
    // Alerts lost since the last report are announced by an internal alert
    // ("Peregrine internal: alerts lost") at most this often; 0 disables it.
    std::chrono::milliseconds lost_alert_interval{10000};
    std::string hostname;  // for the internal alert
  };

  explicit Dispatcher(Options opts);
  ~Dispatcher();  // stop() with the default drain time
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Before start() only. `queue_capacity` 0 means Options::sink_queue_capacity.
  void add_sink(std::unique_ptr<Sink> sink, std::size_t queue_capacity = 0);
  void start();

  // Never blocks on a sink and never throws. False when the alert was
  // dropped (queue full, or the dispatcher is stopped); the drop is counted.
  // Under a flood, repeats are aggregated and admission goes by priority
  // (user/output/shedding.h).
  bool enqueue(Alert&& alert) noexcept;
  // For the alerts that report loss: rendered on the caller's thread and put
  // straight into every sink's urgent lane, past the shared queue and ahead
  // of whatever the sinks have queued. Lost (and counted) only when a
  // sink's urgent lane is itself full.
  void enqueue_urgent(Alert&& alert) noexcept;

  // Ask every sink to reopen its output (SIGHUP). Async-signal-safe.
  void reopen() noexcept;

  // Deliver what is queued for up to `drain`, then interrupt sinks still
  // busy and join every thread. Alerts left behind count as dropped.
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(3));

  OutputStats stats() const;

 private:
  struct Worker;
  void fan_out();
  void send_to_sinks(Alert&& alert);
  void send_urgent(Alert&& alert);
  std::shared_ptr<const RenderedAlert> render(Alert&& alert);
  void maybe_report_losses();
  void flush_summaries(bool final = false);

  Options opts_;
  BoundedQueue<Alert> queue_;
  Shedder shedder_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread fan_out_thread_;
  std::atomic<std::uint64_t> enqueued_{0};
  std::atomic<std::uint64_t> queue_drops_{0};
  bool started_ = false;
  std::atomic<bool> stopped_{false};
  std::uint64_t lost_reported_ = 0;  // fan-out thread only
  std::chrono::steady_clock::time_point last_loss_check_{};
};

}  // namespace pg::user::output
