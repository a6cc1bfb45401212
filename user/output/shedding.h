// Alert shedding under a flood: by duplication and priority, not by arrival.
//
// Each queue sheds on its own (the shared queue, and each sink's), so one
// stalled sink does not cost the others a single alert.
//
// While a queue keeps up, every alert goes in. When it passes `start` of
// its capacity, a shedding episode
// begins: the first alert of each (rule, process) pair still goes in, and
// so does every alert that finds room below its priority's share of the
// queue (admission_share); repeats of a pair are not queued while the
// queue is above `start` but counted,
// and once per `summary_interval` each rule with repeats gets one summary
// alert carrying the count. The episode ends when the queue has stayed
// under `stop` for a second; the pairs seen are then forgotten.
//
// So a flood of one rule (or one process) fills at most one slot per pair,
// and a different attack's alert — another rule, or a higher priority —
// still finds room. Nothing vanishes: repeats are in the summaries' counts,
// and what a full queue still refuses is counted as lost, as before.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "user/output/alert.h"

namespace pg::user::output {

// The share of a queue alerts of priority `p` may fill during an episode:
// Critical and above the whole queue, Debug the first 75%.
double admission_share(Priority p);

class Shedder {
 public:
  struct Options {
    double start = 0.5;  // an episode begins at this fill of the fullest queue
    double stop = 0.1;   // and ends after a second below this
    std::chrono::milliseconds summary_interval{1000};
    std::size_t max_pairs = 1 << 16;  // pairs remembered per episode; later ones count as repeats
    std::string name = "queue";       // for the log: which queue sheds
  };
  Shedder() = default;
  explicit Shedder(Options o) : opts_(std::move(o)) {}

  // True when `a` is a repeat to aggregate (not queued). Thread-safe.
  // `shedding` tells whether an episode is under way (priority admission
  // applies to what is queued then).
  bool aggregate(const Alert& a, double pressure, std::chrono::steady_clock::time_point now,
                 bool& shedding);
  // The summary alerts due now (each interval, and when the episode ends).
  // `final`: everything folded so far, and the episode ends (stopping).
  std::vector<Alert> due_summaries(double pressure, std::chrono::steady_clock::time_point now,
                                   bool final = false);

  std::uint64_t aggregated() const;  // alerts folded into summaries so far
  std::uint64_t episodes() const;

 private:
  struct Folded {
    std::uint64_t count = 0;
    std::unordered_set<std::uint32_t> pids;  // up to kMaxPids
    Alert first;                             // the first repeat, as a sample
  };
  static constexpr std::size_t kMaxPids = 1024;
  Alert summary(const std::string& rule, Folded& f, double seconds) const;

  Options opts_;
  mutable std::mutex mu_;
  bool active_ = false;
  std::chrono::steady_clock::time_point last_high_{}, last_summary_{};
  std::unordered_set<std::string> seen_;  // rule '\0' pid
  std::map<std::string, Folded> folded_;  // by rule
  std::uint64_t aggregated_ = 0;
  std::uint64_t episodes_ = 0;
};

}  // namespace pg::user::output
