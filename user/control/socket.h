// The control socket: the daemon's server end and the CLI's client end.
//
// Clients are served concurrently, one thread each, up to kMaxClients at a
// time (more are answered "busy" at once); each has kClientTimeout to send
// its request and take its answer, so a client that connects and then
// stalls (or a `policy load` of a FIFO, before inputs were checked) cannot
// wedge the socket for the others. Requests are still *handled* one at a
// time (and never during a tick), so the handler needs no locking of its
// own.
//
// Root only, twice over: the socket file is mode 0600 (so the kernel refuses
// anyone else's connect), and every accepted peer's credentials
// (SO_PEERCRED) are checked, so a socket made reachable by mistake (a
// chmod, a bind mount) still answers only root.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <expected>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "user/control/protocol.h"

namespace pg::user::control {

inline constexpr const char* kDefaultSocket = "/run/peregrine/peregrine.sock";
inline constexpr size_t kMaxClients = 16;
inline constexpr std::chrono::seconds kClientTimeout{5};

class ControlServer {
 public:
  // Answers one validated request; runs on the server thread.
  using Handler = std::function<Json(const Request&)>;
  // Called on the server thread after wake() and about once a second.
  using Tick = std::function<void(bool woken)>;

  // Bind `path` (creating its directory, mode 0755, if missing), refusing
  // when another live daemon answers there; a stale socket file is
  // replaced. The server thread starts at once. An empty `path` runs the
  // thread for `tick` only, with no socket.
  static std::expected<std::unique_ptr<ControlServer>, std::string> start(const std::string& path,
                                                                          Handler handler,
                                                                          Tick tick = {});
  ~ControlServer();  // stops the thread and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Run `tick(true)` on the server thread soon. Async-signal-safe.
  void wake() noexcept;
  const std::string& path() const { return path_; }
  uint64_t refused_peers() const { return refused_.load(); }

 private:
  ControlServer() = default;
  struct Client {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void loop();
  void accept_one();
  void reap(bool all);
  void serve(int fd);

  std::string path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd
  Handler handler_;
  Tick tick_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
  int cleanup_id_ = 0;
  std::mutex handle_mu_;                        // one request handled (or one tick run) at a time
  std::list<std::unique_ptr<Client>> clients_;  // server thread only
  std::thread thread_;
};

// Client: send one request, wait for the response (up to `timeout`).
std::expected<Json, std::string> call(const std::string& socket_path, const Json& request,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace pg::user::control
