// Drop alerts: raised when a loss counter moves, at most once per interval,
// each saying how many events were lost and where.
#include "user/drop_alerts.h"

#include <doctest/doctest.h>

using namespace pg::user;
using namespace std::chrono_literals;

namespace {
int64_t field(const output::Alert& a, const std::string& name) {
  for (const auto& f : a.output_fields)
    if (f.name == name) return std::get<int64_t>(f.value);
  return -1;
}
}  // namespace

TEST_CASE("a moving drop counter raises one rate-limited alert with the loss and its place") {
  DropAlerter d(10s, "host");
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK_FALSE(d.check({{"kernel.ring_buffer_full", 0}, {"userspace.malformed", 0}}, t0));
  auto a = d.check({{"kernel.ring_buffer_full", 12}, {"userspace.malformed", 0}}, t0 + 1s);
  REQUIRE(a);
  CHECK(a->rule == "Peregrine internal: events lost");
  CHECK(a->source == "internal");
  CHECK(a->hostname == "host");
  CHECK(field(*a, "pg.events_lost") == 12);
  CHECK(field(*a, "pg.lost.kernel.ring_buffer_full") == 12);
  CHECK(field(*a, "pg.lost.userspace.malformed") == -1);  // did not move
  CHECK(a->output.find("12 event(s) lost") != std::string::npos);
  CHECK(a->output.find("kernel.ring_buffer_full=12") != std::string::npos);
  // Within the interval: nothing, however much is lost.
  CHECK_FALSE(d.check({{"kernel.ring_buffer_full", 30}, {"userspace.malformed", 1}}, t0 + 5s));
  // After it: everything lost since the last alert, by place.
  auto b = d.check({{"kernel.ring_buffer_full", 40}, {"userspace.malformed", 1}}, t0 + 12s);
  REQUIRE(b);
  CHECK(field(*b, "pg.events_lost") == 29);
  CHECK(field(*b, "pg.lost.kernel.ring_buffer_full") == 28);
  CHECK(field(*b, "pg.lost.userspace.malformed") == 1);
  // Nothing new: no alert.
  CHECK_FALSE(d.check({{"kernel.ring_buffer_full", 40}, {"userspace.malformed", 1}}, t0 + 30s));
}

TEST_CASE("a zero interval turns drop alerts off") {
  DropAlerter d(0ms, "host");
  CHECK_FALSE(d.check({{"kernel.ring_buffer_full", 5}}, std::chrono::steady_clock::now()));
}
