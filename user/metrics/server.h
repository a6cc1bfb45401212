// The metrics endpoint and Falco's webserver: a small HTTP server
// (cpp-httplib) on its own thread serving GET /metrics (Prometheus text,
// when asked), the health check (GET /healthz, or the configured path) and,
// for Falco's webserver, GET /versions, optionally over HTTPS.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace pg::user::metrics {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  // Healthy: the event loop is turning. The string says why not.
  using Health = std::function<std::expected<void, std::string>()>;

  // Binds address:port before returning, so a port in use is an error
  // here, not a log line later. Without `render`, no /metrics (Falco's
  // webserver with prometheus_metrics_enabled off serves only health).
  // What Falco's webserver adds: GET /versions (the JSON falcoctl reads),
  // and HTTPS with one PEM file holding both certificate and key.
  struct Extras {
    std::string versions_json;  // empty: no /versions
    std::string tls_pem;        // empty: plain HTTP
  };
  static std::expected<std::unique_ptr<MetricsServer>, std::string> start(
      const std::string& address, int port, Render render, Health health,
      const std::string& healthz_path = "/healthz", const Extras& extras = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> srv_;
  std::thread thread_;
};

}  // namespace pg::user::metrics
