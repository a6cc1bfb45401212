#include "user/container/enricher.h"

#include <spdlog/spdlog.h>

namespace pg::user::container {

Enricher::Enricher(Options o, size_t max_held) : md_(std::move(o)), max_held_(max_held) {}

bool Enricher::hold(const Event& e, const ProcessTable& procs, CgroupMap& cgroups, uint64_t num) {
  md_.sync();
  const ContainerRef* ref = cgroups.container(e.task.cgroup_id);
  if (!ref && cgroups.learn_from_process(e.task.cgroup_id, e.task.tgid))
    ref = cgroups.container(e.task.cgroup_id);
  if (!ref || ref->host()) return false;
  auto st = md_.lookup(*ref);
  auto waiting = held_per_container_.find(ref->id);
  // A container with events already waiting keeps its order: later events
  // queue behind them even once the bound has passed.
  if (st != Metadata::State::Pending && waiting == held_per_container_.end()) return false;
  if (held_.size() >= max_held_) {
    if (stats_.overflow++ == 0)
      spdlog::warn(
          "more than {} events are waiting for container metadata; evaluating the "
          "rest at once with what is known",
          max_held_);
    return false;
  }
  // The rules may read the process, its parent and its ancestors; copy
  // them, since the live table moves on (and reaps) meanwhile.
  Held h{ref->id, e, {}, num};
  if (const Process* p = procs.find(e.task.tgid)) h.procs.insert(*p);
  if (const Process* p = procs.find(e.task.ppid)) h.procs.insert(*p);
  for (const Process* a : procs.ancestors(e.task.tgid)) h.procs.insert(*a);
  held_.push_back(std::move(h));
  ++held_per_container_[ref->id];
  ++stats_.held;
  return true;
}

void Enricher::release(const Evaluate& f, bool all) {
  if (held_.empty()) return;
  md_.sync();
  std::deque<Held> keep;
  while (!held_.empty()) {
    Held h = std::move(held_.front());
    held_.pop_front();
    auto st = md_.state(h.id);
    if (!all && st == Metadata::State::Pending) {
      keep.push_back(std::move(h));
      continue;
    }
    if (st == Metadata::State::Ready)
      ++stats_.complete;
    else
      ++stats_.incomplete;
    if (auto it = held_per_container_.find(h.id);
        it != held_per_container_.end() && --it->second == 0)
      held_per_container_.erase(it);
    f(h.event, h.procs, h.num);
  }
  held_.swap(keep);
}

void Enricher::log_summary() const {
  const auto& s = md_.stats();
  spdlog::info(
      "containers: {} runtime requests, {} answered, failures: absent={} timeout={} "
      "bad-response={} not-found={}, {} from disk ({} CRI-O); {} events held for metadata ({} "
      "complete, {} sent without it, {} not held: queue full); metadata latency max {} µs, last "
      "{} µs (hold bound {} ms)",
      s.requests.load(), s.answered.load(), s.failures[0].load(), s.failures[1].load(),
      s.failures[2].load(), s.failures[3].load(), s.from_disk.load(), s.unsupported.load(),
      stats_.held, stats_.complete, stats_.incomplete, stats_.overflow, s.max_latency_us.load(),
      s.last_latency_us.load(), md_.options().hold.count());
}

}  // namespace pg::user::container
