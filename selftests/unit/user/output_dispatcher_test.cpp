// The queue in front of the sinks: it never blocks the caller, counts every
// drop, and keeps a stalled sink from holding back the others.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/dispatcher.h"
#include "user/output/queue.h"
#include "user/output/sinks.h"

using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// A sink that blocks in deliver() until released: the test double for any
// slow output.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  void release() {
    {
      std::lock_guard l(mu);
      open = true;
    }
    cv.notify_all();
  }
};

class BlockingSink final : public Sink {
 public:
  explicit BlockingSink(Gate& g) : gate_(g) {}
  std::string_view name() const override { return "blocking"; }
  pg::Expected<void, std::string> deliver(const RenderedAlert&) override {
    std::unique_lock l(gate_.mu);
    ++gate_.entered;
    gate_.cv.notify_all();
    gate_.cv.wait(l, [&] { return gate_.open || interrupted_; });
    if (interrupted_) return pg::Unexpected(std::string("interrupted"));
    return {};
  }
  void interrupt() noexcept override {
    {
      std::lock_guard l(gate_.mu);
      interrupted_ = true;
    }
    gate_.cv.notify_all();
  }

 private:
  Gate& gate_;
  bool interrupted_ = false;
};

}  // namespace

TEST_CASE("bounded queue refuses items when full and hands them out in order") {
  BoundedQueue<int> q(2);
  CHECK(q.try_push(1));
  CHECK(q.try_push(2));
  CHECK_FALSE(q.try_push(3));
  CHECK(q.size() == 2);
  CHECK(q.pop_for(std::chrono::milliseconds(0)) == 1);
  CHECK(q.try_push(4));
  CHECK(q.pop_for(std::chrono::milliseconds(0)) == 2);
  CHECK(q.pop_for(std::chrono::milliseconds(0)) == 4);
  CHECK_FALSE(q.pop_for(std::chrono::milliseconds(1)).has_value());
  q.close();
  CHECK_FALSE(q.try_push(5));
}

TEST_CASE("a full output queue drops and counts, and enqueue returns at once") {
  Dispatcher::Options opts;
  opts.queue_capacity = 4;
  Dispatcher d(opts);  // not started: nothing drains the queue
  int accepted = 0;
  // Distinct rules: repeats of one (rule, process) pair would be folded
  // into a summary instead (output_shedding_test.cpp).
  for (int i = 0; i < 1000; ++i) {
    auto a = sample_alert();
    a.rule = "rule " + std::to_string(i);
    a.priority = Priority::Critical;  // may fill the whole queue under pressure
    accepted += d.enqueue(std::move(a)) ? 1 : 0;
  }
  const auto s = d.stats();
  CHECK(accepted == 4);
  CHECK(s.enqueued == 4);
  CHECK(s.queue_drops == 996);
  CHECK(s.queue_depth == 4);
  CHECK(s.total_lost() == 996);
}

TEST_CASE("a stalled sink does not delay stdout, and its overflow is counted against it") {
  Gate gate;
  Pipe out;
  Dispatcher::Options opts;
  Dispatcher d(opts);
  d.add_sink(make_stdout_sink({LineFormat::Text, out.fds[1]}), 64);
  d.add_sink(std::make_unique<BlockingSink>(gate), 2);
  d.start();
  REQUIRE(d.enqueue(sample_alert("r", "alert 0")));
  REQUIRE(wait_until([&] {
    std::lock_guard l(gate.mu);
    return gate.entered == 1;
  }));
  for (int i = 1; i < 10; ++i) REQUIRE(d.enqueue(sample_alert("r", "alert " + std::to_string(i))));
  // Every stdout line arrives while the other sink is still stuck on the
  // first alert.
  for (int i = 0; i < 10; ++i) CHECK(read_line(out.fds[0]).ends_with("alert " + std::to_string(i)));
  {
    std::lock_guard l(gate.mu);
    CHECK_FALSE(gate.open);
    CHECK(gate.entered == 1);
  }
  // The stuck sink sheds on its own: one in flight, one queued, the rest
  // refused or (repeats of the same rule and process) aggregated.
  REQUIRE(wait_until([&] {
    const auto k = d.stats().sinks[1];
    return k.dropped + k.aggregated >= 8;
  }));
  gate.release();
  d.stop();
  const auto s = d.stats();
  REQUIRE(s.sinks.size() == 2);
  CHECK(s.sinks[0].name == "stdout");
  CHECK(s.sinks[0].delivered == 10);
  CHECK(s.sinks[0].dropped == 0);
  CHECK(s.sinks[0].aggregated == 0);
  // Alert 2 opened the shedding episode but found no room below its
  // priority's share; 3-9 repeat its (rule, process) pair.
  CHECK(s.sinks[1].dropped == 1);
  CHECK(s.sinks[1].aggregated == 7);
  CHECK(s.sinks[1].delivered == 3);  // alerts 0 and 1, and the summary of 3-9
}

TEST_CASE("stop() gives up on a sink that stays stuck past the drain time") {
  Gate gate;
  Dispatcher d(Dispatcher::Options{});
  d.add_sink(std::make_unique<BlockingSink>(gate), 8);
  d.start();
  for (int i = 0; i < 3; ++i) d.enqueue(sample_alert());
  REQUIRE(wait_until([&] {
    std::lock_guard l(gate.mu);
    return gate.entered == 1;
  }));
  d.stop(std::chrono::milliseconds(100));  // returns: the stuck sink was interrupted
  const auto s = d.stats();
  CHECK(s.sinks[0].failed == 1);   // the interrupted delivery
  CHECK(s.sinks[0].dropped == 2);  // abandoned in its queue
  CHECK_FALSE(d.enqueue(sample_alert()));
  CHECK(d.stats().queue_drops == 1);
}

TEST_CASE("reopen reaches the file sink through the dispatcher") {
  TempDir dir;
  const auto path = dir / "alerts.log";
  Dispatcher d(Dispatcher::Options{});
  auto file = make_file_sink({path, LineFormat::Text});
  REQUIRE(file);
  d.add_sink(std::move(*file));
  d.start();
  d.enqueue(sample_alert("a", "before rotate"));
  REQUIRE(wait_until([&] { return d.stats().sinks[0].delivered == 1; }));
  std::filesystem::rename(path, path + ".1");
  d.reopen();
  // The worker acts on the request at its next tick, before the next write.
  d.enqueue(sample_alert("a", "after rotate"));
  REQUIRE(wait_until([&] { return d.stats().sinks[0].delivered == 2; }));
  d.stop();
  CHECK(slurp(path).find("after rotate") != std::string::npos);
  CHECK(slurp(path + ".1").find("after rotate") == std::string::npos);
}

TEST_CASE("lost alerts are announced by an internal alert through the outputs") {
  Pipe out;
  Dispatcher::Options opts;
  opts.queue_capacity = 2;
  opts.lost_alert_interval = std::chrono::milliseconds(1);
  opts.hostname = "h";
  Dispatcher d(opts);
  d.add_sink(make_stdout_sink({LineFormat::Json, out.fds[1]}));
  for (int i = 0; i < 5; ++i) {  // 3 dropped before start (distinct rules: no repeats to fold)
    auto a = sample_alert();
    a.rule = "rule " + std::to_string(i);
    a.priority = Priority::Critical;  // may fill the whole queue under pressure
    d.enqueue(std::move(a));
  }
  d.start();
  std::string internal;
  for (int i = 0; i < 3 && internal.empty(); ++i) {
    const auto line = read_line(out.fds[0]);
    if (line.find("Peregrine internal") != std::string::npos) internal = line;
  }
  REQUIRE_FALSE(internal.empty());
  const auto doc = nlohmann::json::parse(internal);
  CHECK(doc["rule"] == "Peregrine internal: alerts lost");
  CHECK(doc["priority"] == "Critical");
  CHECK(doc["output_fields"]["pg.alerts_lost"] == 3);
  CHECK(doc["output_fields"]["pg.queue_drops"] == 3);
  // Reported once: nothing new is lost, so no second report.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.stop();
  pollfd p{out.fds[0], POLLIN, 0};
  std::string rest;
  while (::poll(&p, 1, 0) > 0) {
    const auto l = read_line(out.fds[0], std::chrono::milliseconds(100));
    if (l.empty()) break;
    rest += l;
  }
  CHECK(rest.find("Peregrine internal") == std::string::npos);
}
