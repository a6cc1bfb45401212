// Events wait, briefly, for their container's metadata.
//
// The first events of a container Peregrine has not seen before (typically
// the exec of its entrypoint) arrive before any runtime has been asked
// about it. Rather than evaluate them with <NA> names and images, the
// enricher keeps a copy of each such event — with the processes its rules
// may read, since the table moves on — until the metadata is cached or the
// hold bound passes, then hands them back in arrival order. Events of other
// containers and of the host are not delayed. Every held event is counted,
// as complete or sent with what was known.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "user/cgroup.h"
#include "user/container/metadata.h"
#include "user/event.h"
#include "user/process.h"

namespace pg::user::container {

struct HoldStats {
  uint64_t held = 0;        // events that waited
  uint64_t complete = 0;    // ... and left with their container's metadata
  uint64_t incomplete = 0;  // ... and left without it (bound passed, runtime failed)
  uint64_t overflow = 0;    // not held because the hold queue was full
};

class Enricher {
 public:
  using Evaluate = std::function<void(const Event&, const ProcessTable&, uint64_t num)>;

  explicit Enricher(Options o, size_t max_held = 8192);

  void start() { md_.start(); }
  void stop() { md_.stop(); }
  Metadata& metadata() { return md_; }
  const Metadata& metadata() const { return md_; }

  // Take the event if it has to wait; false: evaluate it now.
  bool hold(const Event& e, const ProcessTable& procs, CgroupMap& cgroups, uint64_t num);
  // Hand back, in arrival order, the held events that may go now (every
  // one when `all`, at shutdown).
  void release(const Evaluate& f, bool all = false);
  size_t held_now() const { return held_.size(); }
  const HoldStats& hold_stats() const { return stats_; }
  // One summary line (lookups, failures, hold counters, latency).
  void log_summary() const;

 private:
  struct Held {
    std::string id;
    Event event;
    ProcessTable procs;
    uint64_t num;
  };
  Metadata md_;
  size_t max_held_;
  std::deque<Held> held_;
  std::unordered_map<std::string, size_t> held_per_container_;
  HoldStats stats_;
};

}  // namespace pg::user::container
