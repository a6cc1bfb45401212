#include "user/audit/webhook.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>

#include "user/output/httplib_config.h"

namespace pg::user::audit {

namespace {

// "application/json" or "application/json; charset=utf-8", any case.
bool is_json_type(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  std::string lower(ct);
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

// Compare without an early exit, so timing does not reveal the token.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i] ^ b[i]);
  return diff == 0;
}

std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump() + "\n";
}

}  // namespace

std::expected<std::unique_ptr<Webhook>, std::string> Webhook::start(const WebhookOptions& opts,
                                                                    EventSink sink) {
  std::unique_ptr<Webhook> w(new Webhook());
  w->opts_ = opts;
  w->sink_ = std::move(sink);
  w->tls_ = !opts.tls_cert.empty();
  if (w->tls_) {
    auto ssl = std::make_unique<httplib::SSLServer>(opts.tls_cert.c_str(), opts.tls_key.c_str());
    if (!ssl->is_valid())
      return std::unexpected(fmt::format(
          "k8s_audit: cannot load the TLS certificate {} and key {} (both must be readable PEM "
          "files and belong together)",
          opts.tls_cert, opts.tls_key));
    w->server_ = std::move(ssl);
  } else {
    w->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *w->server_;
  s.set_payload_max_length(opts.max_request_bytes);
  Webhook* self = w.get();
  s.Post(opts.path, [self](const httplib::Request& req, httplib::Response& res) {
    int status = 200;
    std::string reply;
    self->handle(req.body, req.get_header_value("Authorization"),
                 req.get_header_value("Content-Type"), status, reply);
    res.status = status;
    res.set_content(reply, "application/json");
  });
  // cpp-httplib answers 413 itself, before any handler; the logger sees
  // every response, so the refusal is counted there.
  s.set_logger([self](const httplib::Request& req, const httplib::Response& res) {
    if (res.status == 413 && req.path == self->opts_.path) {
      self->stats_.requests.fetch_add(1, std::memory_order_relaxed);
      self->stats_.too_large.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("k8s_audit: refused a request over the {} byte limit (413)",
                   self->opts_.max_request_bytes);
    }
  });
  // cpp-httplib's default also sets SO_REUSEPORT, which would let a second
  // daemon bind the same port and silently take half the events. Keep only
  // SO_REUSEADDR (restart without waiting for TIME_WAIT).
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Headers and body go out in separate writes; without TCP_NODELAY,
  // Nagle holds the second until the client's delayed ACK (~40 ms per
  // request on a keep-alive connection).
  s.set_tcp_nodelay(true);
  int port = opts.port;
  if (port == 0) {
    port = s.bind_to_any_port(opts.address);
    if (port < 0) port = 0;
  } else if (!s.bind_to_port(opts.address, port)) {
    port = 0;
  }
  if (port <= 0)
    return std::unexpected(fmt::format(
        "k8s_audit: cannot listen on {}:{} (in use, or not an address of this host); set "
        "k8s_audit.address / k8s_audit.port",
        opts.address, opts.port));
  w->port_ = port;
  w->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !s.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return w;
}

Webhook::~Webhook() { stop(); }

void Webhook::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Webhook::url() const {
  return fmt::format("{}://{}:{}{}", tls_ ? "https" : "http", opts_.address, port_, opts_.path);
}

std::string Webhook::stats_text() const {
  return fmt::format(
      "{} requests, {} events; rejected: {} malformed (400), {} unauthorized (401), {} too "
      "large (413), {} wrong content type (415)",
      stats_.requests.load(), stats_.events.load(), stats_.malformed.load(),
      stats_.unauthorized.load(), stats_.too_large.load(), stats_.bad_content_type.load());
}

void Webhook::handle(const std::string& body, const std::string& auth,
                     const std::string& content_type, int& status, std::string& reply) {
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  auto reject = [&](int code, std::atomic<uint64_t>& counter, const std::string& why) {
    counter.fetch_add(1, std::memory_order_relaxed);
    status = code;
    reply = error_body(why);
    // One warning per second at most: a misconfigured client retries fast.
    const int64_t now = now_ns();
    int64_t last = last_warn_ns_.load(std::memory_order_relaxed);
    if (now - last > 1'000'000'000 && last_warn_ns_.compare_exchange_strong(last, now))
      spdlog::warn("k8s_audit: rejected a request ({}): {}", code, why);
    else
      spdlog::debug("k8s_audit: rejected a request ({}): {}", code, why);
  };
  if (!opts_.token.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth.starts_with(kBearer) ||
        !same_secret(std::string_view(auth).substr(kBearer.size()), opts_.token))
      return reject(401, stats_.unauthorized, "missing or wrong bearer token");
  }
  if (!is_json_type(content_type))
    return reject(415, stats_.bad_content_type,
                  fmt::format("Content-Type '{}' is not application/json", content_type));
  auto doc = parse_json(body);
  if (!doc) return reject(400, stats_.malformed, doc.error());
  auto events = events_of(*doc);
  if (!events) return reject(400, stats_.malformed, events.error());
  const int64_t received = now_ns();
  for (const Json* e : *events) sink_(*e, event_time_ns(*e, received));
  stats_.events.fetch_add(events->size(), std::memory_order_relaxed);
  status = 200;
  reply = fmt::format("{{\"accepted\":{}}}\n", events->size());
}

}  // namespace pg::user::audit
