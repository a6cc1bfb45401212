// Falco's webserver as Peregrine serves it: /versions with the JSON falcoctl
// reads, the health check, and HTTPS from one PEM file holding both the
// certificate and its key (webserver.ssl_enabled / ssl_certificate).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "policy/version.h"
#include "selftests/unit/user/output_test_util.h"
#include "user/metrics/server.h"
#include "user/output/httplib_config.h"
#include "user/version.h"

using namespace pg::user;
using pg::user::output::testing::TempDir;

namespace {

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// A self-signed certificate and its key, written into one PEM file as
// Falco's ssl_certificate holds them.
void write_cert_and_key(const std::string& path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  PEM_write_X509(f, cert);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

metrics::MetricsServer::Health healthy() {
  return []() -> std::expected<void, std::string> { return {}; };
}

}  // namespace

TEST_CASE("the versions JSON has Falco's keys: engine_version is the minor number") {
  auto j = nlohmann::json::parse(version_text(true));
  CHECK(j["engine_version"] == std::to_string(pg::policy::kEngineVersion.minor));
  CHECK(j["engine_version_semver"] == pg::policy::kEngineVersion.str());
  CHECK(j["plugin_versions"]["container"] == "0.4.0");
  CHECK(j["plugin_versions"].contains("k8saudit"));
}

TEST_CASE("the webserver serves /versions and the health check over HTTPS from one PEM") {
  TempDir dir;
  const std::string pem = dir / "falco.pem";
  write_cert_and_key(pem);
  const int port = free_port();
  auto srv = metrics::MetricsServer::start("127.0.0.1", port, {}, healthy(), "/healthz",
                                           {version_text(true), pem});
  REQUIRE_MESSAGE(srv, (srv ? "" : srv.error()));
  httplib::SSLClient cli("127.0.0.1", port);
  cli.enable_server_certificate_verification(true);
  cli.set_ca_cert_path(pem.c_str());
  auto res = cli.Get("/versions");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(res->body)["engine_version_semver"] ==
        pg::policy::kEngineVersion.str());
  res = cli.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 200);
  // Plain HTTP is not spoken on the TLS port.
  httplib::Client plain("127.0.0.1", port);
  plain.set_connection_timeout(2);
  plain.set_read_timeout(2);
  auto p = plain.Get("/healthz");
  CHECK((!p || p->status != 200));
}

TEST_CASE("a webserver certificate file that is not a certificate and key is refused") {
  TempDir dir;
  const std::string pem = dir / "bad.pem";
  std::FILE* f = std::fopen(pem.c_str(), "w");
  REQUIRE(f);
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  auto srv = metrics::MetricsServer::start("127.0.0.1", free_port(), {}, healthy(), "/healthz",
                                           {"{}", pem});
  REQUIRE_FALSE(srv);
  CHECK(srv.error().find("ssl_certificate") != std::string::npos);
}

TEST_CASE("without TLS, /versions is served only when asked for") {
  const int port = free_port();
  auto srv = metrics::MetricsServer::start("127.0.0.1", port, {}, healthy());
  REQUIRE(srv);
  httplib::Client cli("127.0.0.1", port);
  auto res = cli.Get("/versions");
  REQUIRE(res);
  CHECK(res->status == 404);
}
