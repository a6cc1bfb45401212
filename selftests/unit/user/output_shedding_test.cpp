// Under an alert flood the outputs shed by duplication and priority, not by
// arrival, and the alerts that report loss jump every queue.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/dispatcher.h"
#include "user/output/queue.h"

using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// Records what it delivers; blocks in deliver() until opened.
class GatedSink final : public Sink {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int entered = 0;
    std::vector<Alert> got;
  };
  explicit GatedSink(State& s) : s_(s) {}
  std::string_view name() const override { return "gated"; }
  pg::Expected<void, std::string> deliver(const RenderedAlert& r) override {
    std::unique_lock l(s_.mu);
    ++s_.entered;
    s_.cv.notify_all();
    s_.cv.wait(l, [&] { return s_.open; });
    s_.got.push_back(r.alert);
    return {};
  }

 private:
  State& s_;
};

void open_gate(GatedSink::State& s) {
  {
    std::lock_guard l(s.mu);
    s.open = true;
  }
  s.cv.notify_all();
}

Alert alert_of(std::string rule, uint32_t pid, Priority p = Priority::Warning) {
  Alert a = sample_alert(std::move(rule), "pid " + std::to_string(pid));
  a.origin_pid = pid;
  a.priority = p;
  return a;
}

int64_t field_int(const Alert& a, std::string_view name) {
  for (const auto& f : a.output_fields)
    if (f.name == name)
      if (auto* v = std::get_if<std::int64_t>(&f.value)) return *v;
  return -1;
}

}  // namespace

TEST_CASE("bounded queue: urgent items come out first; try_push_below keeps the last slots") {
  BoundedQueue<int> q(4, 2);
  int a = 1, b = 2, c = 3, u = 9, v = 10, w = 11;
  CHECK(q.try_push(a));
  CHECK(q.try_push_below(b, 2));
  CHECK_FALSE(q.try_push_below(c, 2));  // two queued: the limit
  CHECK(q.push_urgent(u));
  CHECK(q.push_urgent(v));
  CHECK_FALSE(q.push_urgent(w));  // the urgent lane has two slots
  CHECK(q.fill() == doctest::Approx(0.5));
  CHECK(*q.pop_for(std::chrono::milliseconds(1)) == 9);
  CHECK(*q.pop_for(std::chrono::milliseconds(1)) == 10);
  CHECK(*q.pop_for(std::chrono::milliseconds(1)) == 1);
  CHECK(*q.pop_for(std::chrono::milliseconds(1)) == 2);
}

TEST_CASE("a flood of one rule cannot hide another rule's alert from a slow sink") {
  GatedSink::State st;
  Dispatcher::Options o;
  o.lost_alert_interval = std::chrono::milliseconds(0);
  Dispatcher d(o);
  d.add_sink(std::make_unique<GatedSink>(st), 32);
  d.start();
  REQUIRE(d.enqueue(alert_of("Flood", 7)));
  REQUIRE(wait_until([&] {
    std::lock_guard l(st.mu);
    return st.entered == 1;
  }));
  // Arrival order alone would fill the sink's 32 slots with the flood and
  // refuse what follows.
  for (int i = 0; i < 5000; ++i) d.enqueue(alert_of("Flood", 7));
  for (uint32_t p = 100; p < 110; ++p) d.enqueue(alert_of("Flood", p));  // other processes
  d.enqueue(alert_of("Other attack", 8));
  d.enqueue(alert_of("Other attack", 8));  // a repeat: aggregated
  d.enqueue(alert_of("Critical thing", 7, Priority::Critical));
  // Everything has reached the sink's queue while the sink is stalled (else
  // the fan-out would still be handing alerts over once the sink drains,
  // when repeats are queued again by design).
  REQUIRE(wait_until([&] { return d.stats().queue_depth == 0; }));
  open_gate(st);
  d.stop();

  int flood = 0, other = 0, critical = 0;
  int64_t flood_folded = 0, other_folded = 0;
  for (const auto& a : st.got) {
    if (const int64_t n = field_int(a, "pg.aggregated"); n > 0) {
      (a.rule == "Flood" ? flood_folded : other_folded) += n;
      continue;
    }
    flood += a.rule == "Flood";
    other += a.rule == "Other attack";
    critical += a.rule == "Critical thing";
  }
  CHECK(other == 1);
  CHECK(critical == 1);
  // Until the queue is half full everything goes in (16 slots), then one
  // alert per (rule, process) pair: at most 1 + 17 + 10.
  CHECK(flood <= 28);
  CHECK(flood >= 11);
  CHECK(other_folded == 1);
  // Nothing vanished: every flood alert was delivered or counted.
  CHECK(flood + flood_folded == 1 + 5000 + 10);
  const auto s = d.stats();
  CHECK(s.sinks[0].dropped == 0);
  // The sink's own folds all reach it in summaries (the shared queue may
  // fold some before them; those summaries count theirs too).
  CHECK(s.sinks[0].aggregated > 0);
  CHECK(s.sinks[0].aggregated <= uint64_t(flood_folded + other_folded));
}

TEST_CASE("a loss alert jumps ahead of a full sink queue") {
  GatedSink::State st;
  Dispatcher::Options o;
  o.lost_alert_interval = std::chrono::milliseconds(0);
  Dispatcher d(o);
  d.add_sink(std::make_unique<GatedSink>(st), 8);
  d.start();
  REQUIRE(d.enqueue(alert_of("r", 1)));
  REQUIRE(wait_until([&] {
    std::lock_guard l(st.mu);
    return st.entered == 1;
  }));
  for (uint32_t p = 2; p < 40; ++p) d.enqueue(alert_of("r", p));  // distinct pairs: fill it
  REQUIRE(wait_until([&] { return d.stats().sinks[0].dropped > 0; }));
  Alert lost = alert_of("Peregrine internal: events lost", 0, Priority::Critical);
  lost.source = "internal";
  d.enqueue_urgent(std::move(lost));
  open_gate(st);
  d.stop();
  REQUIRE(st.got.size() >= 2);
  CHECK(st.got[0].rule == "r");  // was in flight
  CHECK(st.got[1].rule == "Peregrine internal: events lost");
}
