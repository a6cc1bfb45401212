// The audit webhook: the endpoint a kube-apiserver's webhook backend (or
// anything else) POSTs audit.k8s.io Event / EventList JSON to.
//
// Checks, in order, each with its own status and counter:
//   more than max_connections open 503  (user/audit/http_server.h)
//   head or body too slow          408  (head_timeout, body_timeout)
//   body over the size limit       413  (chunked or not; counted as it comes)
//   missing/wrong bearer token     401
//   Content-Type not JSON          415
//   not JSON, or not an audit      400
//   Event/EventList
// A request is all or nothing: its events are evaluated only once the whole
// document has been validated. Events are evaluated on the request's own
// thread before the answer is sent, so a busy detector slows the client
// down instead of losing events.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <thread>

#include "user/audit/document.h"

namespace pg::user::audit {

class HttpServer;

// Loopback only by default: a webhook on another address must have a token
// (start() refuses otherwise), since whoever reaches it can forge events.
struct WebhookOptions {
  std::string address = "127.0.0.1";
  int port = 9765;  // 0: any free port (tests)
  std::string path = "/k8s-audit";
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  std::string token;  // non-empty: require "Authorization: Bearer <token>"
  size_t max_request_bytes = 16 << 20;
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  size_t max_connections = 64;
};

struct WebhookStats {
  std::atomic<uint64_t> requests{0};          // POSTs to the path, refused ones included
  std::atomic<uint64_t> events{0};            // events accepted and evaluated
  std::atomic<uint64_t> malformed{0};         // 400: bad JSON or not an audit document
  std::atomic<uint64_t> too_large{0};         // 413
  std::atomic<uint64_t> unauthorized{0};      // 401
  std::atomic<uint64_t> bad_content_type{0};  // 415
  uint64_t rejected() const { return malformed + too_large + unauthorized + bad_content_type; }
};

class Webhook {
 public:
  // Bind and start serving on a thread of its own. Fails (and starts
  // nothing) when the certificate or key cannot be loaded or the address
  // cannot be bound.
  static std::expected<std::unique_ptr<Webhook>, std::string> start(const WebhookOptions& opts,
                                                                    EventSink sink);
  ~Webhook();  // stop()
  Webhook(const Webhook&) = delete;
  Webhook& operator=(const Webhook&) = delete;

  // Stop accepting, finish requests in flight, join the thread.
  void stop();
  int port() const { return port_; }
  // "http://127.0.0.1:9765/k8s-audit"
  std::string url() const;
  const WebhookStats& stats() const { return stats_; }
  std::string stats_text() const;

 private:
  Webhook() = default;
  void handle(const std::string& body, const std::string& auth, const std::string& content_type,
              int& status, std::string& reply);

  WebhookOptions opts_;
  EventSink sink_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  bool tls_ = false;
  WebhookStats stats_;
  std::atomic<int64_t> last_warn_ns_{0};
};

}  // namespace pg::user::audit
