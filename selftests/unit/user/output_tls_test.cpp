// The webhook over HTTPS: certificate verification is on by default, a
// configured CA file makes a private certificate trusted, and `insecure`
// turns verification off.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/httplib_config.h"
#include "user/output/sinks.h"

using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// A self-signed certificate for 127.0.0.1, made in memory for this test.
struct SelfSigned {
  SelfSigned() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(cert, key, EVP_sha256());
  }
  ~SelfSigned() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  void write_pem(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

struct TlsServer {
  explicit TlsServer(const SelfSigned& id) : svr(id.cert, id.key) {
    REQUIRE(svr.is_valid());
    svr.Post("/", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.status = 200;
    });
    port = svr.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { svr.listen_after_bind(); });
    REQUIRE(wait_until([&] { return svr.is_running(); }));
  }
  ~TlsServer() {
    svr.stop();
    thread.join();
  }
  httplib::SSLServer svr;
  std::thread thread;
  std::atomic<int> hits{0};
  int port = 0;
};

HttpSinkOptions https_to(int port) {
  HttpSinkOptions o;
  o.url = "https://127.0.0.1:" + std::to_string(port) + "/";
  o.max_retries = 0;
  return o;
}

}  // namespace

TEST_CASE("https webhook with an untrusted certificate fails by default") {
  SelfSigned id;
  TlsServer server(id);
  auto sink = make_http_sink(https_to(server.port));
  REQUIRE(sink);
  auto r = (*sink)->deliver(rendered());
  REQUIRE_FALSE(r);
  CHECK(r.error().find("certificate not trusted") != std::string::npos);
  CHECK(server.hits == 0);
}

TEST_CASE("https webhook trusts a certificate from the configured CA file") {
  SelfSigned id;
  TempDir dir;
  id.write_pem(dir / "ca.pem");
  TlsServer server(id);
  auto opts = https_to(server.port);
  opts.ca_file = dir / "ca.pem";
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  auto r = (*sink)->deliver(rendered());
  CHECK_MESSAGE(r, (r ? "" : r.error()));
  CHECK(server.hits == 1);
}

TEST_CASE("https webhook with verification turned off accepts any certificate") {
  SelfSigned id;
  TlsServer server(id);
  auto opts = https_to(server.port);
  opts.tls_verify = false;
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  CHECK((*sink)->deliver(rendered()));
  CHECK(server.hits == 1);
}

TEST_CASE("https webhook trusts a certificate from Falco's ca_bundle") {
  SelfSigned id;
  TempDir dir;
  id.write_pem(dir / "bundle.pem");
  TlsServer server(id);
  auto opts = https_to(server.port);
  opts.ca_bundle = dir / "bundle.pem";
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  auto r = (*sink)->deliver(rendered());
  CHECK_MESSAGE(r, (r ? "" : r.error()));
  CHECK(server.hits == 1);
}

TEST_CASE("mtls presents client_cert and client_key to a server that requires them") {
  SelfSigned server_id, client_id;
  TempDir dir;
  server_id.write_pem(dir / "server.pem");
  client_id.write_pem(dir / "client.crt");
  {
    FILE* f = std::fopen((dir / "client.key").c_str(), "w");
    REQUIRE(f);
    PEM_write_PrivateKey(f, client_id.key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  X509_STORE* clients = X509_STORE_new();
  X509_STORE_add_cert(clients, client_id.cert);
  httplib::SSLServer svr(server_id.cert, server_id.key, clients);
  REQUIRE(svr.is_valid());
  std::atomic<int> hits{0};
  svr.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 200;
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  std::thread t([&] { svr.listen_after_bind(); });
  REQUIRE(wait_until([&] { return svr.is_running(); }));

  auto opts = https_to(port);
  opts.ca_file = dir / "server.pem";
  auto anonymous = make_http_sink(opts);
  REQUIRE(anonymous);
  CHECK_FALSE((*anonymous)->deliver(rendered()));  // refused without a certificate
  opts.client_cert = dir / "client.crt";
  opts.client_key = dir / "client.key";
  auto mutual = make_http_sink(opts);
  REQUIRE(mutual);
  auto r = (*mutual)->deliver(rendered());
  CHECK_MESSAGE(r, (r ? "" : r.error()));
  // Close the clients' kept-alive connections first: the server's stop
  // waits for each open one to time out (5 s).
  anonymous->reset();
  mutual->reset();
  svr.stop();
  t.join();
  CHECK(hits == 1);
}
