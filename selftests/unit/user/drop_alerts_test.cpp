// Drop alerts: raised when a loss counter moves, at most once per interval,
// each saying how many events were lost and where.
#include "user/syscalls/drop_alerts.h"

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

TEST_CASE("Falco's syscall_event_drops: threshold, token bucket and actions") {
  DropAlerter d(10s, "host");
  pg::user::config::SyscallEventDrops p;
  p.configured = true;
  p.threshold = 0.1;
  p.rate = 0.5;  // one alert per 2 s on average
  p.max_burst = 1;
  p.log = true;
  p.alert = true;
  p.exit = false;
  d.set_falco_policy(p);
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  // 5 lost of 1005 seen: below 10%, nothing.
  auto a = d.decide({{"kernel.ring_buffer_full", 5}}, 1000, t0);
  CHECK_FALSE(a.alert);
  CHECK(a.log.empty());
  // 50 more lost while 100 arrived: 33%, log and alert.
  auto b = d.decide({{"kernel.ring_buffer_full", 55}}, 1100, t0 + 1s);
  REQUIRE(b.alert);
  // Falco's own drop alert, so what keys on it keeps working.
  CHECK(b.alert->rule == "Falco internal: syscall event drop");
  CHECK(b.alert->priority == pg::user::output::Priority::Debug);
  CHECK(b.alert->output ==
        "Falco internal: syscall event drop. 50 system calls dropped in last second.");
  auto text = [&](const char* name) {
    for (const auto& f : b.alert->output_fields)
      if (f.name == name) return std::get<std::string>(f.value);
    return std::string();
  };
  CHECK(text("n_drops") == "50");
  CHECK(text("n_evts") == "150");
  CHECK(text("n_drops_buffer_total") == "50");
  CHECK(field(*b.alert, "pg.events_lost") == 50);
  CHECK(b.log.find("50 event(s) lost") != std::string::npos);
  CHECK_FALSE(b.exit);
  // Again a second later: logged, but the bucket is empty (0.5 token).
  auto c = d.decide({{"kernel.ring_buffer_full", 105}}, 1200, t0 + 2s);
  CHECK_FALSE(c.alert);
  CHECK_FALSE(c.log.empty());
  // Two seconds on, a token has refilled.
  auto e = d.decide({{"kernel.ring_buffer_full", 155}}, 1300, t0 + 4s);
  CHECK(e.alert);
  // `exit` only, no log, no alert.
  p.log = p.alert = false;
  p.exit = true;
  d.set_falco_policy(p);
  auto x = d.decide({{"kernel.ring_buffer_full", 255}}, 1400, t0 + 5s);
  CHECK(x.exit);
  CHECK_FALSE(x.alert);
  CHECK(x.log.empty());
}
