#include "user/container/metadata.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "user/container/oci_spec.h"

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

Metadata::Metadata(Options o) : opts_(std::move(o)) {
  for (const auto& s : opts_.containerd_sockets)
    if (!s.empty() && !is_containerd_socket(s))
      containerd_.push_back(std::make_unique<ContainerdClient>(s, opts_.request_timeout));
}

Metadata::~Metadata() { stop(); }

bool Metadata::is_containerd_socket(const std::string& s) const {
  return std::any_of(containerd_.begin(), containerd_.end(),
                     [&](const auto& c) { return c->socket() == s; });
}

void Metadata::start() {
  threads_.emplace_back([this] { worker(); });
  if (!opts_.watch_events) return;
  std::vector<std::string> socks;
  for (const auto* list : {&opts_.docker_sockets, &opts_.podman_sockets})
    for (const auto& s : *list)
      if (!s.empty() && std::find(socks.begin(), socks.end(), s) == socks.end()) socks.push_back(s);
  for (auto& s : socks) threads_.emplace_back([this, s] { watch(s); });
  for (auto& c : containerd_)
    threads_.emplace_back([this, cl = c.get()] { watch_containerd(*cl); });
}

void Metadata::stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& c : containerd_) c->cancel();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::vector<std::string> Metadata::sockets_for(const Request& r) const {
  std::vector<std::string> out;
  auto add = [&](const std::vector<std::string>& list) {
    for (const auto& s : list)
      if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (!r.socket.empty()) add({r.socket});
  if (r.runtime == Runtime::Podman) {
    add(opts_.podman_sockets);
    add(opts_.docker_sockets);
  } else {
    add(opts_.docker_sockets);
    add(opts_.podman_sockets);
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
    if (ref.runtime == Runtime::CriO && stats_.unsupported.fetch_add(1) == 0)
      spdlog::info(
          "container {} runs under CRI-O, whose API this build does not speak; its metadata "
          "comes from what CRI-O left on disk (OCI state, containers-storage)",
          ref.id.substr(0, 12));
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
      "container runtime socket {}: {} ({}); until it answers, its containers carry what the "
      "runtime left on disk, if anything, else container.id and container.type only",
      socket, e.message, failure_name(e.kind));
}

std::shared_ptr<const Info> Metadata::fetch(const Request& r) {
  std::shared_ptr<const Info> got;
  const bool via_containerd = r.runtime == Runtime::Containerd || r.runtime == Runtime::Cri ||
                              (r.runtime == Runtime::None && is_containerd_socket(r.socket));
  if (via_containerd)
    got = fetch_containerd(r);
  else if (r.runtime != Runtime::CriO)
    got = fetch_docker(r);
  // A watcher's prefetch of a container not started yet has nothing on
  // disk; its first event asks again. Docker keeps its own state format.
  if (!got && opts_.disk && r.runtime != Runtime::None && r.runtime != Runtime::Docker)
    got = fetch_disk(r);
  return got;
}

std::shared_ptr<const Info> Metadata::fetch_disk(const Request& r) {
  auto info = read_from_disk(r.id, opts_.disk_paths);
  if (!info) return nullptr;
  return std::make_shared<const Info>(std::move(*info));
}

std::shared_ptr<const Info> Metadata::fetch_containerd(const Request& r) {
  std::vector<std::string> namespaces;
  if (!r.ns.empty()) namespaces.push_back(r.ns);
  for (const auto& ns : opts_.containerd_namespaces)
    if (std::find(namespaces.begin(), namespaces.end(), ns) == namespaces.end())
      namespaces.push_back(ns);
  for (auto& client : containerd_) {
    if (!r.socket.empty() && client->socket() != r.socket && r.runtime == Runtime::None) continue;
    bool reachable = true;
    for (const auto& ns : namespaces) {
      stats_.requests++;
      auto rec = client->get(ns, r.id);
      if (!rec) {
        if (rec.error().kind == Failure::NotFound) continue;  // another namespace's
        warn(client->socket(), rec.error());
        reachable = false;
        break;
      }
      Info info = info_from_containerd(*rec);
      // The digest and the pod's own labels live elsewhere; failing to
      // read them only leaves them out.
      if (info.image_digest.empty() && !rec->image.empty())
        if (auto d = client->image_digest(ns, rec->image)) info.image_digest = *d;
      if (const std::string* sb = info.label("io.kubernetes.sandbox.id"); sb && *sb != r.id)
        if (auto pod = client->get(ns, *sb))
          for (const auto& [k, v] : pod->labels)
            if (!k.starts_with("io.kubernetes.") && !k.starts_with("io.cri-containerd."))
              add_label(info, k, v);
      info.source = "containerd-api";
      stats_.answered++;
      return std::make_shared<const Info>(std::move(info));
    }
    if (reachable) warn(client->socket(), {Failure::NotFound, "no such container"});
  }
  return nullptr;
}

std::shared_ptr<const Info> Metadata::fetch_docker(const Request& r) {
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
    info->source = std::find(opts_.podman_sockets.begin(), opts_.podman_sockets.end(), sock) !=
                           opts_.podman_sockets.end()
                       ? "podman-api"
                       : "docker-api";
    stats_.answered++;
    return std::make_shared<const Info>(std::move(*info));
  }
  return nullptr;
}

void Metadata::worker() {
  constexpr auto kDiskRetry = std::chrono::milliseconds(25);
  while (true) {
    Request r;
    {
      std::unique_lock lock(mu_);
      auto due = [&] { return !later_.empty() && later_.front().first <= Clock::now(); };
      auto ready = [&] { return stop_.load() || !queue_.empty() || due(); };
      if (later_.empty())
        cv_.wait(lock, ready);
      else
        cv_.wait_until(lock, later_.front().first, ready);
      if (stop_.load()) return;
      if (!queue_.empty()) {
        r = std::move(queue_.front());
        queue_.pop_front();
      } else if (due()) {
        r = std::move(later_.front().second);
        later_.pop_front();
      } else {
        continue;
      }
    }
    std::shared_ptr<const Info> info = r.disk_only ? fetch_disk(r) : fetch(r);
    // A container first seen moments ago may not have all its files yet
    // (runc's init runs before state.json exists, while containers.json is
    // already there): look again shortly, within the hold, keeping the
    // best found so far.
    const bool from_disk = info && !info->source.ends_with("-api");
    const bool whole = info && (!from_disk || info->source.find("oci-state") != std::string::npos);
    if (info && !whole) r.partial = info;
    bool disk_kind = r.runtime != Runtime::None && r.runtime != Runtime::Docker;
    if (!whole && opts_.disk && disk_kind) {
      if (r.disk_until == Clock::time_point{}) r.disk_until = Clock::now() + opts_.hold;
      if (Clock::now() + kDiskRetry < r.disk_until) {
        r.disk_only = true;
        std::lock_guard lock(mu_);
        later_.emplace_back(Clock::now() + kDiskRetry, std::move(r));
        continue;
      }
    }
    if (!info) info = std::move(r.partial);
    if (info && !info->source.ends_with("-api")) {
      stats_.from_disk++;
      spdlog::debug("container {}: metadata from disk ({}): name '{}', image '{}'",
                    r.id.substr(0, 12), info->source, info->name, info->image);
    }
    post({r.id, std::move(info), false});
  }
}

void Metadata::watch_containerd(ContainerdClient& c) {
  auto backoff = std::chrono::seconds(1);
  auto wanted = [&](const std::string& ns) {
    return std::find(opts_.containerd_namespaces.begin(), opts_.containerd_namespaces.end(), ns) !=
           opts_.containerd_namespaces.end();
  };
  while (!stop_.load()) {
    // List, then follow: a container made in between is fetched on its
    // first event like any other.
    bool listed = true;
    for (const auto& ns : opts_.containerd_namespaces) {
      auto ids = c.list(ns);
      if (!ids) {
        spdlog::debug("containerd {}: listing namespace {}: {}", c.socket(), ns,
                      ids.error().message);
        listed = false;
        break;
      }
      for (auto& id : *ids) enqueue({std::move(id), Runtime::None, c.socket(), ns});
    }
    if (listed) {
      auto ended = c.watch([&](const std::string& ns, const RuntimeEvent& ev) {
        if (!wanted(ns)) return;
        stats_.stream_events++;
        backoff = std::chrono::seconds(1);
        if (ev.action == "delete")
          post({ev.id, nullptr, true});
        else
          enqueue({ev.id, Runtime::None, c.socket(), ns});
      });
      if (!ended) spdlog::debug("containerd events from {}: {}", c.socket(), ended.error().message);
    }
    if (stop_.load()) return;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
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
