// Container metadata from the runtimes, asynchronous and cached.
//
// The event thread never waits on a runtime: it asks lookup() about the
// container of each event, which answers from its own cache and, on a first
// sight, queues a request for a worker thread. Results come back through
// sync(), called by the event thread between events, so an Info it handed
// out stays put while one event is evaluated. A watcher per runtime socket
// follows the runtime's /events stream (new containers are fetched before
// their first event is even seen; removed ones are dropped) and lists the
// running containers whenever it (re)connects.
//
// Sources, asked in this order for a container of each runtime:
//   docker, podman   the Docker Engine API on a Unix socket, as Docker and
//                    Podman (`podman system service`) serve it
//   containerd, cri  containerd's own API (gRPC), in each configured
//                    namespace (k8s.io for kubelet's containers)
//   all but docker   what the runtime left on disk (disk.h), when no
//                    socket knew the container; CRI-O has only this here
//                    (its CRI API is not spoken)
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "user/cgroup.h"
#include "user/container/containerd_api.h"
#include "user/container/disk.h"
#include "user/container/docker_api.h"
#include "user/container/info.h"

namespace pg::user::container {

struct Options {
  std::vector<std::string> docker_sockets = {"/var/run/docker.sock"};
  std::vector<std::string> podman_sockets = {"/run/podman/podman.sock"};
  std::vector<std::string> containerd_sockets = {"/run/containerd/containerd.sock"};
  std::vector<std::string> containerd_namespaces = kDefaultContainerdNamespaces;
  bool disk = true;  // read what the runtimes left on disk when no socket knows a container
  DiskOptions disk_paths;
  std::chrono::milliseconds hold{1000};             // longest an event waits for a new container
  std::chrono::milliseconds request_timeout{2000};  // one request to a runtime
  std::chrono::seconds ttl{300};                    // refresh cached entries this old
  std::chrono::seconds retry{30};                   // ask again after a failure
  bool watch_events = true;                         // follow the runtimes' /events
};

struct Stats {
  std::atomic<uint64_t> requests{0};                // inspect requests sent
  std::atomic<uint64_t> answered{0};                // containers whose metadata arrived
  std::array<std::atomic<uint64_t>, 4> failures{};  // by Failure
  std::atomic<uint64_t> unsupported{0};             // CRI-O containers (no API spoken: disk only)
  std::atomic<uint64_t> from_disk{0};               // containers whose metadata came from disk
  std::atomic<uint64_t> stream_events{0};
  std::atomic<uint64_t> expired{0};        // entries dropped or refreshed for age/removal
  std::atomic<int64_t> max_latency_us{0};  // first sight → metadata in the cache
  std::atomic<int64_t> last_latency_us{0};
};

class Metadata {
 public:
  enum class State : uint8_t {
    Pending,  // first sight, answer awaited, still within the hold bound
    Late,     // first sight, answer awaited, hold bound passed
    Ready,    // metadata cached
    Failed,   // the runtimes could not tell (id-only)
  };

  explicit Metadata(Options o);
  ~Metadata();
  Metadata(const Metadata&) = delete;
  Metadata& operator=(const Metadata&) = delete;

  // Start the worker and watchers (not in tests that drive it by hand).
  void start();
  void stop();

  // Event thread. The state of a container's metadata; a first sight
  // queues the lookup.
  State lookup(const ContainerRef& ref);
  State state(const std::string& id) const;
  // The cached metadata for a full id, or nullptr.
  const Info* find(std::string_view id) const;
  // Take in what the worker found; expire old entries (at most once a
  // second). Cheap when nothing changed.
  void sync();

  const Stats& stats() const { return stats_; }
  const Options& options() const { return opts_; }

 private:
  struct Request {
    std::string id;
    Runtime runtime;
    std::string socket;  // ask this one first (the watcher that saw it)
    std::string ns;      // containerd: the namespace its watcher saw it in
    // A container's first events can come before its runtime wrote its
    // files (runc's init runs before state.json exists): the disk is read
    // again, alone, until this passes (the hold bound).
    std::chrono::steady_clock::time_point disk_until{};
    bool disk_only = false;
    std::shared_ptr<const Info> partial;  // disk without the OCI state, while retrying
  };
  struct Result {
    std::string id;
    std::shared_ptr<const Info> info;  // null on failure
    bool removed = false;              // the runtime says it is gone
  };
  struct Entry {
    State state = State::Pending;
    Runtime runtime = Runtime::None;
    std::shared_ptr<const Info> info;
    std::chrono::steady_clock::time_point seen, hold_until, fetched, removed_at{};
    bool in_flight = false;
  };

  void enqueue(Request r);
  void post(Result r);
  void worker();
  void watch(std::string socket);
  void watch_containerd(ContainerdClient& c);
  std::shared_ptr<const Info> fetch(const Request& r);
  std::shared_ptr<const Info> fetch_docker(const Request& r);
  std::shared_ptr<const Info> fetch_containerd(const Request& r);
  std::shared_ptr<const Info> fetch_disk(const Request& r);
  void warn(const std::string& socket, const ApiError& e);
  std::vector<std::string> sockets_for(const Request& r) const;
  bool is_containerd_socket(const std::string& s) const;

  Options opts_;
  Stats stats_;
  // Event thread only.
  std::unordered_map<std::string, Entry> entries_;
  std::chrono::steady_clock::time_point last_sweep_{};
  // Shared with the threads.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, Request>> later_;  // worker only
  std::vector<Result> results_;
  std::atomic<bool> have_results_{false};
  std::atomic<bool> stop_{false};
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> warned_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<ContainerdClient>> containerd_;  // one per socket
};

}  // namespace pg::user::container
