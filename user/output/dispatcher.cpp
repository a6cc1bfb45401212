#include "user/output/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <future>

namespace pg::user::output {
namespace {
constexpr auto kIdleTick = std::chrono::milliseconds(250);
constexpr auto kSummaryTick = std::chrono::milliseconds(50);
}  // namespace

std::uint64_t OutputStats::total_lost() const {
  std::uint64_t n = queue_drops;
  for (const auto& s : sinks) n += s.failed + s.dropped;
  return n;
}

struct Dispatcher::Worker {
  using Item = std::shared_ptr<const RenderedAlert>;

  Worker(std::unique_ptr<Sink> s, std::size_t capacity)
      : sink(std::move(s)),
        queue(capacity),
        shedder(Shedder::Options{.name = std::string(sink->name())}) {}

  void run() {
    for (;;) {
      auto item = queue.pop_for(kIdleTick);
      sink->maintain();
      if (!item) {
        if (closed.load() && queue.size() == 0) break;
        continue;
      }
      if (abandon.load()) {
        dropped.fetch_add(1);
        continue;
      }
      auto r = sink->deliver(**item);
      if (r) {
        delivered.fetch_add(1);
        if (failing) spdlog::info("output {}: delivering again", sink->name());
        failing = false;
      } else {
        const auto n = failed.fetch_add(1) + 1;
        // Log the transition into failure, then sparingly: a dead webhook
        // must not turn the daemon's log into a second alert stream.
        if (!failing || n % 1000 == 0)
          spdlog::warn("output {}: alert not delivered: {} ({} failed so far)", sink->name(),
                       r.error(), n);
        failing = true;
      }
    }
    done.set_value();
  }

  std::unique_ptr<Sink> sink;
  BoundedQueue<Item> queue;
  Shedder shedder;  // fan-out thread (and stats readers)
  std::thread thread;
  std::promise<void> done;
  std::atomic<bool> closed{false};
  std::atomic<bool> abandon{false};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<bool> failing{false};  // written by the worker thread
};

Dispatcher::Dispatcher(Options opts) : opts_(std::move(opts)), queue_(opts_.queue_capacity) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::add_sink(std::unique_ptr<Sink> sink, std::size_t queue_capacity) {
  if (started_ || !sink) return;
  workers_.push_back(std::make_unique<Worker>(
      std::move(sink), queue_capacity > 0 ? queue_capacity : opts_.sink_queue_capacity));
}

void Dispatcher::start() {
  if (started_) return;
  started_ = true;
  for (auto& w : workers_) w->thread = std::thread([p = w.get()] { p->run(); });
  fan_out_thread_ = std::thread([this] { fan_out(); });
}

bool Dispatcher::enqueue(Alert&& alert) noexcept {
  bool shedding = false;
  try {
    if (shedder_.aggregate(alert, queue_.fill(), std::chrono::steady_clock::now(), shedding))
      return true;
  } catch (...) {  // out of memory in the pair set: queue it as before
  }
  const std::size_t limit =
      shedding ? std::size_t(admission_share(alert.priority) * double(queue_.capacity()))
               : SIZE_MAX;
  if (queue_.try_push_below(alert, limit)) {
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  queue_drops_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Dispatcher::reopen() noexcept {
  for (auto& w : workers_) w->sink->request_reopen();
}

void Dispatcher::fan_out() {
  auto last_summary_check = std::chrono::steady_clock::now();
  for (;;) {
    auto alert = queue_.pop_for(kIdleTick);
    maybe_report_losses();
    // Summaries are due once a second: look every 50 ms, not per alert.
    if (const auto now = std::chrono::steady_clock::now();
        now - last_summary_check >= kSummaryTick) {
      last_summary_check = now;
      flush_summaries();
    }
    if (!alert) {
      if (stopped_ && queue_.size() == 0) {  // stopped_ is set before close()
        flush_summaries(true);
        return;
      }
      continue;
    }
    send_to_sinks(std::move(*alert));
  }
}

// A summary is due each interval of a shedding episode, so the fan-out
// thread asks between alerts and on its idle tick.
void Dispatcher::flush_summaries(bool final) {
  const auto now = std::chrono::steady_clock::now();
  try {
    for (auto& a : shedder_.due_summaries(queue_.fill(), now, final)) send_urgent(std::move(a));
    for (auto& w : workers_)
      for (auto& a : w->shedder.due_summaries(w->queue.fill(), now, final)) {
        auto item = render(std::move(a));
        if (item && !w->queue.push_urgent(item) && !w->queue.try_push(item))
          w->dropped.fetch_add(1);
      }
  } catch (...) {  // out of memory building a summary: its counts stay in the stats
  }
}

std::shared_ptr<const RenderedAlert> Dispatcher::render(Alert&& alert) {
  try {
    auto r = std::make_shared<RenderedAlert>();
    r->json = to_json(alert, opts_.format);
    r->text = to_text(alert, opts_.format);
    r->alert = std::move(alert);
    return r;
  } catch (const std::exception& e) {
    // Only allocation can fail here; count the alert as lost everywhere.
    spdlog::error("output: cannot render alert for rule '{}': {}", alert.rule, e.what());
    for (auto& w : workers_) w->failed.fetch_add(1);
    return nullptr;
  }
}

void Dispatcher::send_to_sinks(Alert&& alert) {
  const double share = admission_share(alert.priority);
  auto item = render(std::move(alert));
  if (!item) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& w : workers_) {
    // Each sink sheds on its own: a slow sink flooded by one rule still
    // takes the first alert of every other pair and keeps its last slots
    // for higher priorities, and the other sinks are not affected.
    bool shedding = false;
    try {
      if (w->shedder.aggregate(item->alert, w->queue.fill(), now, shedding)) continue;
    } catch (...) {
    }
    auto copy = item;
    const std::size_t limit =
        shedding ? std::size_t(share * double(w->queue.capacity())) : SIZE_MAX;
    if (!w->queue.try_push_below(copy, limit)) w->dropped.fetch_add(1);
  }
}

void Dispatcher::send_urgent(Alert&& alert) {
  auto item = render(std::move(alert));
  if (!item) return;
  for (auto& w : workers_) {
    auto copy = item;
    if (!w->queue.push_urgent(copy) && !w->queue.try_push(copy)) w->dropped.fetch_add(1);
  }
}

void Dispatcher::enqueue_urgent(Alert&& alert) noexcept {
  if (stopped_) {
    queue_drops_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    send_urgent(std::move(alert));
    enqueued_.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    queue_drops_.fetch_add(1, std::memory_order_relaxed);
  }
}

// Invariant: a run that loses alerts must say so where alerts are read, not
// only in the daemon log. The report bypasses the shared queue (which may be
// the thing that is full) and goes straight to every sink's queue.
void Dispatcher::maybe_report_losses() {
  if (opts_.lost_alert_interval.count() <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_loss_check_ < opts_.lost_alert_interval) return;
  last_loss_check_ = now;
  const auto s = stats();
  const auto lost = s.total_lost();
  if (lost <= lost_reported_) return;
  const auto delta = lost - lost_reported_;
  lost_reported_ = lost;
  Alert a;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  a.rule = "Peregrine internal: alerts lost";
  a.priority = Priority::Critical;
  a.source = "internal";
  a.hostname = opts_.hostname;
  std::string detail = fmt::format("queue_drops={}", s.queue_drops);
  a.output_fields.push_back({"pg.alerts_lost", static_cast<std::int64_t>(delta)});
  a.output_fields.push_back({"pg.queue_drops", static_cast<std::int64_t>(s.queue_drops)});
  for (const auto& k : s.sinks) {
    detail += fmt::format(" {}.dropped={} {}.failed={}", k.name, k.dropped, k.name, k.failed);
    a.output_fields.push_back({"pg." + k.name + ".dropped", static_cast<std::int64_t>(k.dropped)});
    a.output_fields.push_back({"pg." + k.name + ".failed", static_cast<std::int64_t>(k.failed)});
  }
  a.output =
      fmt::format("Peregrine internal: {} alert(s) lost since the last report ({})", delta, detail);
  spdlog::warn("output: {}", a.output);
  send_urgent(std::move(a));
}

void Dispatcher::stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  queue_.close();
  if (!started_) return;
  const auto deadline = std::chrono::steady_clock::now() + drain;
  if (fan_out_thread_.joinable()) fan_out_thread_.join();
  std::vector<std::future<void>> done;
  for (auto& w : workers_) {
    done.push_back(w->done.get_future());
    w->closed = true;
    w->queue.close();
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (done[i].wait_until(deadline) != std::future_status::ready) {
      workers_[i]->abandon = true;
      workers_[i]->sink->interrupt();
    }
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  const auto s = stats();
  if (s.total_lost() > 0)
    spdlog::warn("output: {} alert(s) lost during this run (queue drops {}, see per-sink counters)",
                 s.total_lost(), s.queue_drops);
}

OutputStats Dispatcher::stats() const {
  OutputStats s;
  s.enqueued = enqueued_.load();
  s.aggregated = shedder_.aggregated();
  s.queue_drops = queue_drops_.load();
  s.queue_depth = queue_.size();
  s.queue_capacity = queue_.capacity();
  for (const auto& w : workers_) {
    s.sinks.push_back(SinkStats{std::string(w->sink->name()), w->delivered.load(), w->failed.load(),
                                w->dropped.load(), w->shedder.aggregated(), w->queue.size(),
                                w->queue.capacity()});
    s.aggregated += s.sinks.back().aggregated;
  }
  return s;
}

}  // namespace pg::user::output
