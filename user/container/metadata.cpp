#include "user/container/metadata.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace pg::user::container {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kGrace = std::chrono::seconds(30);  // keep a removed container for its last events
constexpr auto kWarnEvery = std::chrono::seconds(60);
// /events?filters={"type":["container"]}
constexpr std::string_view kEventsTarget =
    "/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";

bool is_removal(std::string_view action) {
  return action == "destroy" || action == "remove" || action == "delete";
}
bool is_change(std::string_view action) {
  return action == "create" || action == "start" || action == "rename" || action == "update" ||
         action == "init";
}
}  // namespace

Metadata::Metadata(Options o) : opts_(std::move(o)) {}

Metadata::~Metadata() { stop(); }

void Metadata::start() {
  threads_.emplace_back([this] { worker(); });
  if (!opts_.watch_events) return;
  std::vector<std::string> socks;
  for (const auto& s : {opts_.docker_socket, opts_.podman_socket})
    if (!s.empty() && std::find(socks.begin(), socks.end(), s) == socks.end()) socks.push_back(s);
  for (auto& s : socks) threads_.emplace_back([this, s] { watch(s); });
}

void Metadata::stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::vector<std::string> Metadata::sockets_for(const Request& r) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  add(r.socket);
  if (r.runtime == Runtime::Podman) {
    add(opts_.podman_socket);
    add(opts_.docker_socket);
  } else {
    add(opts_.docker_socket);
    add(opts_.podman_socket);
  }
  return out;
}

Metadata::State Metadata::lookup(const ContainerRef& ref) {
  auto now = Clock::now();
  auto [it, fresh] = entries_.try_emplace(ref.id);
  Entry& e = it->second;
  if (fresh) {
    e.runtime = ref.runtime;
    e.seen = now;
    e.hold_until = now + opts_.hold;
    if (ref.runtime == Runtime::CriO || ref.runtime == Runtime::Containerd) {
      e.state = State::Unsupported;
      if (stats_.unsupported.fetch_add(1) == 0)
        spdlog::warn(
            "container {} runs under {}, whose metadata needs CRI over gRPC, which this build "
            "does not have; its events carry container.id and container.type only",
            ref.id.substr(0, 12), runtime_name(ref.runtime));
      return e.state;
    }
    e.state = State::Pending;
    e.in_flight = true;
    enqueue({ref.id, ref.runtime, {}});
    return e.state;
  }
  if (e.runtime == Runtime::None) e.runtime = ref.runtime;
  if (e.state == State::Pending && now >= e.hold_until) e.state = State::Late;
  return e.state;
}

Metadata::State Metadata::state(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return State::Failed;
  if (it->second.state == State::Pending && Clock::now() >= it->second.hold_until)
    return State::Late;
  return it->second.state;
}

const Info* Metadata::find(std::string_view id) const {
  auto it = entries_.find(std::string(id));
  return it == entries_.end() ? nullptr : it->second.info.get();
}

void Metadata::sync() {
  auto now = Clock::now();
  if (have_results_.load(std::memory_order_acquire)) {
    std::vector<Result> got;
    {
      std::lock_guard lock(mu_);
      got.swap(results_);
      have_results_.store(false, std::memory_order_release);
    }
    for (auto& r : got) {
      auto [it, fresh] = entries_.try_emplace(r.id);
      Entry& e = it->second;
      // A container never seen in an event: keep what a prefetch found,
      // forget removals and failures.
      if (fresh && (r.removed || !r.info)) {
        entries_.erase(it);
        continue;
      }
      if (fresh) e.seen = now;
      if (r.removed) {
        if (e.removed_at == Clock::time_point{}) e.removed_at = now;
        continue;
      }
      e.in_flight = false;
      e.fetched = now;
      if (r.info) {
        bool first = e.state != State::Ready;
        e.info = std::move(r.info);
        e.state = State::Ready;
        if (first && !fresh) {
          auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - e.seen).count();
          stats_.last_latency_us.store(us);
          if (us > stats_.max_latency_us.load()) stats_.max_latency_us.store(us);
          spdlog::debug("container {} ({}): metadata after {} µs", r.id.substr(0, 12), e.info->name,
                        us);
        }
      } else if (e.state != State::Ready) {
        e.state = State::Failed;  // keep older metadata if a refresh failed
      }
    }
  }
  if (now - last_sweep_ < std::chrono::seconds(1)) return;
  last_sweep_ = now;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.removed_at != Clock::time_point{} && now - e.removed_at > kGrace) {
      stats_.expired++;
      it = entries_.erase(it);
      continue;
    }
    bool stale = e.state == State::Ready && now - e.fetched > opts_.ttl;
    bool retry = e.state == State::Failed && now - e.fetched > opts_.retry;
    if ((stale || retry) && !e.in_flight && e.removed_at == Clock::time_point{}) {
      if (stale) stats_.expired++;
      e.in_flight = true;
      enqueue({it->first, e.runtime, {}});
    }
    ++it;
  }
}

void Metadata::enqueue(Request r) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
  }
  cv_.notify_all();  // the watchers sleep on the same condition
}

void Metadata::post(Result r) {
  std::lock_guard lock(mu_);
  results_.push_back(std::move(r));
  have_results_.store(true, std::memory_order_release);
}

void Metadata::warn(const std::string& socket, const ApiError& e) {
  stats_.failures[size_t(e.kind)]++;
  if (e.kind == Failure::NotFound) return;  // another runtime's container
  std::lock_guard lock(mu_);
  auto key = fmt::format("{}|{}", socket, failure_name(e.kind));
  auto now = Clock::now();
  auto it = warned_.find(key);
  if (it != warned_.end() && now - it->second < kWarnEvery) return;
  warned_[key] = now;
  spdlog::warn(
      "container runtime socket {}: {} ({}); affected containers carry container.id and "
      "container.type only until it answers",
      socket, e.message, failure_name(e.kind));
}

std::shared_ptr<const Info> Metadata::fetch(const Request& r) {
  for (const auto& sock : sockets_for(r)) {
    stats_.requests++;
    auto resp = http_get(sock, "/v1.41/containers/" + r.id + "/json", opts_.request_timeout);
    if (!resp) {
      warn(sock, resp.error());
      continue;
    }
    if (resp->status == 404) {
      warn(sock, {Failure::NotFound, "no such container"});
      continue;
    }
    if (resp->status != 200) {
      warn(sock,
           {Failure::BadResponse, fmt::format("container inspect answered HTTP {}", resp->status)});
      continue;
    }
    auto info = parse_container_json(resp->body);
    if (!info) {
      warn(sock, info.error());
      continue;
    }
    if (info->id != r.id) {
      warn(sock, {Failure::BadResponse, "container inspect answered for another container"});
      continue;
    }
    // The digest lives with the image; a failure here only leaves it empty.
    if (info->image_digest.empty() && !info->image_id.empty()) {
      auto img =
          http_get(sock, "/v1.41/images/sha256:" + info->image_id + "/json", opts_.request_timeout);
      if (img && img->status == 200)
        if (auto d = parse_image_digest(img->body, info->image_repository)) info->image_digest = *d;
    }
    stats_.answered++;
    return std::make_shared<const Info>(std::move(*info));
  }
  return nullptr;
}

void Metadata::worker() {
  while (true) {
    Request r;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_.load() || !queue_.empty(); });
      if (stop_.load()) return;
      r = std::move(queue_.front());
      queue_.pop_front();
    }
    auto info = fetch(r);
    post({r.id, std::move(info), false});
  }
}

void Metadata::watch(std::string socket) {
  auto backoff = std::chrono::seconds(1);
  auto sleep = [&](std::chrono::seconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_.load(); });
  };
  while (!stop_.load()) {
    // Connect to the stream first, then list: a container created in
    // between is seen by one or the other.
    bool listed = false;
    auto ended = http_stream_lines(
        socket, kEventsTarget, opts_.request_timeout, std::chrono::milliseconds(200),
        [&] {
          if (!listed) {
            listed = true;
            auto resp = http_get(socket, "/v1.41/containers/json", opts_.request_timeout);
            if (resp && resp->status == 200)
              if (auto ids = parse_container_list(resp->body))
                for (auto& id : *ids) enqueue({std::move(id), Runtime::None, socket});
          }
          return stop_.load();
        },
        [&](std::string_view line) {
          auto ev = parse_event_line(line);
          if (!ev) return;
          stats_.stream_events++;
          backoff = std::chrono::seconds(1);
          if (is_removal(ev->action))
            post({ev->id, nullptr, true});
          else if (is_change(ev->action))
            enqueue({ev->id, Runtime::None, socket});
        });
    if (stop_.load()) return;
    if (!ended) spdlog::debug("container events from {}: {}", socket, ended.error().message);
    sleep(backoff);
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

}  // namespace pg::user::container
