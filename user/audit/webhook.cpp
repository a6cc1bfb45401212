#include "user/audit/webhook.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>

#include "user/audit/http_server.h"

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

// The message may quote what the client sent (a parse error shows the
// bytes it stopped at, a Content-Type is echoed): never let invalid UTF-8
// there make dump() throw.
std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace) +
         "\n";
}

bool is_loopback(const std::string& address) {
  in_addr a4{};
  if (inet_pton(AF_INET, address.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

}  // namespace

std::expected<std::unique_ptr<Webhook>, std::string> Webhook::start(const WebhookOptions& opts,
                                                                    EventSink sink) {
  if (opts.token.empty() && !is_loopback(opts.address))
    return std::unexpected(fmt::format(
        "k8s_audit: listening on {} (not a loopback address) needs a bearer token: anyone who "
        "can reach it could forge audit events and alerts. Set k8s_audit.token (and TLS), or "
        "k8s_audit.address=127.0.0.1",
        opts.address));
  std::unique_ptr<Webhook> w(new Webhook());
  w->opts_ = opts;
  w->sink_ = std::move(sink);
  w->tls_ = !opts.tls_cert.empty();
  HttpLimits limits;
  limits.max_body_bytes = opts.max_request_bytes;
  limits.head_timeout = opts.head_timeout;
  limits.body_timeout = opts.body_timeout;
  limits.max_connections = opts.max_connections;
  Webhook* self = w.get();
  auto handler = [self](const HttpRequest& req) -> HttpResponse {
    const std::string path = req.target.substr(0, req.target.find('?'));
    if (path != self->opts_.path) return {404, error_body("no such path")};
    if (req.method != "POST") return {405, error_body("only POST is served")};
    HttpResponse res;
    self->handle(req.body, req.header("authorization"), req.header("content-type"), res.status,
                 res.body);
    return res;
  };
  // The server refuses some requests before the handler (413 on the body
  // size, 408 on a deadline, 503 over the connection cap); count them.
  auto on_refusal = [self](int status, const std::string& target) {
    if (status == 413 && target.substr(0, target.find('?')) == self->opts_.path) {
      self->stats_.requests.fetch_add(1, std::memory_order_relaxed);
      self->stats_.too_large.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("k8s_audit: refused a request over the {} byte limit (413)",
                   self->opts_.max_request_bytes);
    } else if (status == 408 || status == 503) {
      spdlog::debug("k8s_audit: {} for a client", status);
    }
  };
  auto server = HttpServer::start(opts.address, opts.port, opts.tls_cert, opts.tls_key, limits,
                                  handler, on_refusal);
  if (!server)
    return std::unexpected(fmt::format(
        "k8s_audit: {} (in use, or not an address of this host?); set k8s_audit.address / "
        "k8s_audit.port / k8s_audit.tls_cert",
        server.error()));
  w->server_ = std::move(*server);
  w->port_ = w->server_->port();
  return w;
}

Webhook::~Webhook() { stop(); }

void Webhook::stop() {
  if (server_) server_->stop();
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
