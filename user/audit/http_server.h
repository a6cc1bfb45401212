// A small HTTP/1.1 server for the audit webhook, written for its limits.
//
// cpp-httplib (0.11, Debian 12) was used before, but it cannot bound what a
// hostile client costs: the body limit is not applied to chunked bodies (a
// chunked upload grew the daemon by gigabytes), a client sending a byte a
// second never trips its per-read timeout, and its small thread pool is
// then held by a few such clients, so nobody else is served. This server
// enforces, per connection:
//   - a deadline for the request head (request line and headers), counted
//     from the first byte, and an idle limit between keep-alive requests;
//   - a deadline for the body, counted from the end of the head;
//   - a size limit on the head and on the body, chunked or not (a chunked
//     body is counted as it arrives and refused past the limit);
// and, for the whole server, a cap on open connections (one more is
// answered 503 and closed at once), each served on a thread of its own so
// slow clients cannot starve fast ones.
// Only what an audit webhook needs: POST with a body, identity encoding,
// optional TLS (OpenSSL), keep-alive.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pg::user::audit {

struct HttpLimits {
  size_t max_body_bytes = 16 << 20;
  size_t max_head_bytes = 16 << 10;
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{5'000};  // between keep-alive requests
  size_t max_connections = 64;
};

struct HttpRequest {
  std::string method;
  std::string target;                                        // path (and query) as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // sent as application/json
};

// Counted refusals the server makes before a handler sees the request.
struct HttpServerStats {
  std::atomic<uint64_t> too_large{0};   // 413: head or body over its limit
  std::atomic<uint64_t> timed_out{0};   // 408: head or body deadline passed
  std::atomic<uint64_t> malformed{0};   // 400: not HTTP we accept
  std::atomic<uint64_t> over_limit{0};  // 503: connection cap reached
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Called for each refusal the server makes itself (413 with the path).
  using OnRefusal = std::function<void(int status, const std::string& target)>;

  // Bind `address:port` (port 0: any) and start accepting. TLS when
  // `tls_cert` is set (with `tls_key`).
  static std::expected<std::unique_ptr<HttpServer>, std::string> start(
      const std::string& address, int port, const std::string& tls_cert, const std::string& tls_key,
      HttpLimits limits, Handler handler, OnRefusal on_refusal = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stop accepting, cut every open connection, join every thread. Returns
  // promptly whatever the clients do (a handler in progress is waited for).
  void stop();
  int port() const { return port_; }
  const HttpServerStats& stats() const { return stats_; }
  size_t open_connections() const { return open_.load(); }

  struct Conn;  // one client connection (defined in the .cpp)

 private:
  HttpServer() = default;
  void accept_loop();
  void serve(Conn& c);
  void linger(Conn& c);
  void reap(bool all);

  HttpLimits limits_;
  Handler handler_;
  OnRefusal on_refusal_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept out of this header
  std::atomic<bool> stop_{false};
  std::atomic<size_t> open_{0};
  std::mutex mu_;
  std::list<std::unique_ptr<Conn>> conns_;
  std::thread accept_thread_;
  HttpServerStats stats_;
};

}  // namespace pg::user::audit
