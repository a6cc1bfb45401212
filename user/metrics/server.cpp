#include "user/metrics/server.h"

#include <fmt/format.h>

#include "user/output/httplib_config.h"

namespace pg::user::metrics {

std::expected<std::unique_ptr<MetricsServer>, std::string> MetricsServer::start(
    const std::string& address, int port, Render render, Health health,
    const std::string& healthz_path, const Extras& extras) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  if (!extras.tls_pem.empty()) {
    // As Falco: the one file is read for the certificate and for the key.
    auto ssl = std::make_unique<httplib::SSLServer>(extras.tls_pem.c_str(), extras.tls_pem.c_str());
    if (!ssl->is_valid())
      return std::unexpected(fmt::format(
          "cannot load the TLS certificate and key from {} (one readable PEM file holding both; "
          "webserver.ssl_certificate)",
          extras.tls_pem));
    m->srv_ = std::move(ssl);
  } else {
    m->srv_ = std::make_unique<httplib::Server>();
  }
  if (!extras.versions_json.empty())
    m->srv_->Get("/versions",
                 [v = extras.versions_json](const httplib::Request&, httplib::Response& res) {
                   res.set_content(v, "application/json");
                 });
  if (render)
    m->srv_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
      res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
    });
  m->srv_->Get(healthz_path, [health](const httplib::Request&, httplib::Response& res) {
    auto ok = health();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : ok.error() + "\n", "text/plain; charset=utf-8");
  });
  if (!m->srv_->bind_to_port(address.c_str(), port))
    return std::unexpected(
        fmt::format("cannot listen on {}:{} (address not local, or port in use); set "
                    "metrics.address / metrics.port, or webserver.listen_address / listen_port",
                    address, port));
  m->thread_ = std::thread([s = m->srv_.get()] { s->listen_after_bind(); });
  return m;
}

MetricsServer::~MetricsServer() {
  if (srv_) srv_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace pg::user::metrics
