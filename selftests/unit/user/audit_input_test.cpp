// The audit inputs with real parts: documents, the webhook over real HTTP
// and HTTPS on loopback, files, directories and a followed, rotated file.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "selftests/unit/user/audit_cases.h"
#include "user/audit/document.h"
#include "user/audit/file_input.h"
#include "user/audit/webhook.h"
#include "user/config/config.h"
#include "user/output/httplib_config.h"

using namespace pg::user::audit;
using namespace std::chrono_literals;

namespace {

// Every event a source delivered, by auditID.
struct Collector {
  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<int64_t> times;
  EventSink sink() {
    return [this](const Json& e, int64_t t) {
      std::lock_guard lock(mu);
      ids.push_back(e.value("auditID", "?"));
      times.push_back(t);
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return ids.size();
  }
};

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return p();
}

Json event(const std::string& id) {
  Json e = pg::test::audit::base_event("get", "pods", "default", "p");
  e["auditID"] = id;
  return e;
}

Json event_list(std::vector<Json> items, const char* version = "audit.k8s.io/v1") {
  for (auto& i : items) {
    i.erase("kind");
    i.erase("apiVersion");
  }
  return {{"kind", "EventList"}, {"apiVersion", version}, {"items", items}};
}

struct TmpDir {
  TmpDir() {
    char t[] = "/tmp/pg-audit-XXXXXX";
    path = mkdtemp(t);
  }
  ~TmpDir() { std::filesystem::remove_all(path); }
  std::string path;
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
};

struct Server {
  explicit Server(WebhookOptions o = {}) {
    o.address = "127.0.0.1";
    o.port = 0;
    auto w = Webhook::start(o, got.sink());
    REQUIRE_MESSAGE(w, (w ? "" : w.error()));
    hook = std::move(*w);
  }
  httplib::Result post(const std::string& body, const std::string& type = "application/json",
                       const httplib::Headers& headers = {}) {
    httplib::Client c("127.0.0.1", hook->port());
    return c.Post("/k8s-audit", headers, body, type);
  }
  Collector got;
  std::unique_ptr<Webhook> hook;
};

}  // namespace

TEST_CASE("audit document: Event and EventList, v1 and v1beta1, are accepted") {
  auto one = events_of(event("a"));
  REQUIRE(one);
  CHECK(one->size() == 1);
  auto list = events_of(event_list({event("a"), event("b")}, "audit.k8s.io/v1beta1"));
  REQUIRE(list);
  CHECK(list->size() == 2);
  auto empty =
      events_of(Json{{"kind", "EventList"}, {"apiVersion", "audit.k8s.io/v1"}, {"items", nullptr}});
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("audit document: anything else is refused with a reason") {
  Json wrong_version = event("a");
  wrong_version["apiVersion"] = "v1";
  CHECK(events_of(wrong_version).error().find("apiVersion \"v1\"") != std::string::npos);
  Json wrong_kind = event("a");
  wrong_kind["kind"] = "Pod";
  CHECK(events_of(wrong_kind).error().find("kind \"Pod\"") != std::string::npos);
  Json bad_items = event_list({event("a")});
  bad_items["items"].push_back(3);
  CHECK(events_of(bad_items).error() == "EventList.items[1] is not an object");
  CHECK_FALSE(events_of(Json::array()));
  CHECK(parse_json("{\"kind\": ").error().starts_with("malformed JSON"));
  CHECK(parse_json(std::string(100000, '[')).error().find("nested deeper") != std::string::npos);
  // Brackets inside strings do not count as nesting.
  CHECK(parse_json("{\"a\": \"" + std::string(1000, '[') + "\"}"));
}

TEST_CASE("audit document: an event's time is its stage time, else its received time") {
  Json e = event("a");
  CHECK(event_time_ns(e, 42) == 1'795'860'000'123'456'000);
  e.erase("stageTimestamp");
  CHECK(event_time_ns(e, 42) == 1'795'860'000'100'000'000);
  e.erase("requestReceivedTimestamp");
  CHECK(event_time_ns(e, 42) == 42);
  // A time int64 ns cannot hold (found by the audit_json fuzzer) is no time.
  e["stageTimestamp"] = "9999-01-01T00:00:00Z";
  CHECK(event_time_ns(e, 42) == 42);
}

TEST_CASE("audit webhook: an Event and an EventList are evaluated, in order") {
  Server s;
  auto r = s.post(event("one").dump());
  REQUIRE(r);
  CHECK(r->status == 200);
  r = s.post(event_list({event("two"), event("three")}).dump(), "application/json; charset=utf-8");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "{\"accepted\":2}\n");
  CHECK(s.got.ids == std::vector<std::string>{"one", "two", "three"});
  CHECK(s.hook->stats().events == 3);
  CHECK(s.hook->stats().requests == 2);
  CHECK(s.hook->stats().rejected() == 0);
}

TEST_CASE("audit webhook: malformed JSON and non-audit documents get 400 and are counted") {
  Server s;
  auto r = s.post("{\"kind\": \"Event\", ");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("malformed JSON") != std::string::npos);
  Json pod = {{"kind", "Pod"}, {"apiVersion", "v1"}};
  r = s.post(pod.dump());
  REQUIRE(r);
  CHECK(r->status == 400);
  // A list with one bad item is refused whole: nothing of it is evaluated.
  Json list = event_list({event("good")});
  list["items"].push_back("bad");
  r = s.post(list.dump());
  REQUIRE(r);
  CHECK(r->status == 400);
  r = s.post(std::string(5000, '['));
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(s.hook->stats().malformed == 4);
  CHECK(s.got.size() == 0);
  // Still serving afterwards.
  r = s.post(event("after").dump());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(s.got.size() == 1);
}

TEST_CASE("audit webhook: oversized requests get 413, other content types 415") {
  WebhookOptions o;
  o.max_request_bytes = 4096;
  Server s(o);
  Json big = event("big");
  big["requestObject"] = {{"pad", std::string(8192, 'x')}};
  auto r = s.post(big.dump());
  REQUIRE(r);
  CHECK(r->status == 413);
  r = s.post(event("text").dump(), "text/plain");
  REQUIRE(r);
  CHECK(r->status == 415);
  r = s.post(event("form").dump(), "application/x-www-form-urlencoded");
  REQUIRE(r);
  CHECK(r->status == 415);
  CHECK(s.hook->stats().too_large == 1);
  CHECK(s.hook->stats().requests == 3);
  CHECK(s.hook->stats().bad_content_type == 2);
  CHECK(s.got.size() == 0);
}

TEST_CASE("audit webhook: a configured bearer token is required") {
  WebhookOptions o;
  o.token = "s3cret-token";
  Server s(o);
  auto r = s.post(event("none").dump());
  REQUIRE(r);
  CHECK(r->status == 401);
  r = s.post(event("wrong").dump(), "application/json", {{"Authorization", "Bearer s3cret-tokeX"}});
  REQUIRE(r);
  CHECK(r->status == 401);
  r = s.post(event("basic").dump(), "application/json", {{"Authorization", "Basic czNjcmV0"}});
  REQUIRE(r);
  CHECK(r->status == 401);
  r = s.post(event("right").dump(), "application/json", {{"Authorization", "Bearer s3cret-token"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(s.hook->stats().unauthorized == 3);
  CHECK(s.got.ids == std::vector<std::string>{"right"});
}

TEST_CASE("audit webhook: a port in use is a clear start error") {
  Server first;
  WebhookOptions o;
  o.address = "127.0.0.1";
  o.port = first.hook->port();
  auto second = Webhook::start(o, [](const Json&, int64_t) {});
  REQUIRE_FALSE(second);
  CHECK(second.error().find("cannot listen on 127.0.0.1:") != std::string::npos);
}

TEST_CASE("audit webhook: HTTPS with a certificate and key; unreadable ones fail to start") {
  TmpDir dir;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, key, EVP_sha256());
  std::string cert_path = dir.path + "/cert.pem", key_path = dir.path + "/key.pem";
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);

  WebhookOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.tls_cert = cert_path;
  o.tls_key = key_path;
  Collector got;
  auto w = Webhook::start(o, got.sink());
  REQUIRE_MESSAGE(w, (w ? "" : w.error()));
  CHECK((*w)->url().starts_with("https://127.0.0.1:"));
  httplib::SSLClient c("127.0.0.1", (*w)->port());
  c.enable_server_certificate_verification(false);
  auto r = c.Post("/k8s-audit", event("tls").dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(got.ids == std::vector<std::string>{"tls"});
  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", (*w)->port());
  plain.set_read_timeout(1s);
  auto pr = plain.Post("/k8s-audit", event("plain").dump(), "application/json");
  CHECK((!pr || pr->status != 200));
  CHECK(got.size() == 1);

  o.tls_key = dir.path + "/missing.pem";
  auto bad = Webhook::start(o, got.sink());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("cannot load the TLS certificate") != std::string::npos);
}

TEST_CASE("audit files: JSON lines (bad lines counted), an EventList, a directory") {
  TmpDir dir;
  std::string lines = event("l1").dump() + "\n\n" + "{not json}\n" +
                      event_list({event("l2"), event("l3")}).dump() + "\n" + "[1,2]\n" +
                      event("l4").dump();  // last line without newline
  auto jl = dir.write("a.jsonl", lines);
  // A pretty-printed EventList spanning many lines is one document.
  auto pretty =
      dir.write("b.json", event_list({event("p1"), event("p2")}, "audit.k8s.io/v1beta1").dump(2));
  Collector got;
  FileStats st;
  REQUIRE(read_audit_path(jl, got.sink(), st));
  CHECK(got.ids == std::vector<std::string>{"l1", "l2", "l3", "l4"});
  CHECK(st.malformed == 2);
  CHECK(st.events == 4);
  got.ids.clear();
  REQUIRE(read_audit_path(pretty, got.sink(), st));
  CHECK(got.ids == std::vector<std::string>{"p1", "p2"});
  got.ids.clear();
  FileStats dst;
  REQUIRE(read_audit_path(dir.path, got.sink(), dst));
  CHECK(dst.files == 2);
  CHECK(got.ids == std::vector<std::string>{"l1", "l2", "l3", "l4", "p1", "p2"});
  CHECK(looks_like_audit_file(jl));
  CHECK(looks_like_audit_file(dir.path));
  auto rec = dir.write("rec.bin", std::string("PGREC\0\0\1", 8));
  CHECK_FALSE(looks_like_audit_file(rec));
  FileStats none;
  CHECK_FALSE(read_audit_path(dir.path + "/missing", got.sink(), none));
}

TEST_CASE("audit files: a followed file is read through appends, rotation and truncation") {
  TmpDir dir;
  const std::string path = dir.path + "/audit.log";
  Collector got;
  auto f = FileFollower::start(path, got.sink(), 20ms);  // the file does not exist yet
  std::this_thread::sleep_for(50ms);
  {
    std::ofstream out(path);
    out << event("f1").dump() << "\n" << event("f2").dump().substr(0, 20) << std::flush;
    REQUIRE(eventually([&] { return got.size() == 1; }));
    // The half-written line is finished later; it is read once, whole.
    out << event("f2").dump().substr(20) << "\n" << std::flush;
    REQUIRE(eventually([&] { return got.size() == 2; }));
  }
  // logrotate: rename away, create a new file.
  std::filesystem::rename(path, path + ".1");
  std::ofstream(path) << event("r1").dump() << "\n";
  REQUIRE(eventually([&] { return got.size() == 3; }));
  // copytruncate: the same file emptied, then written again.
  const uint64_t before = f->reopened();
  std::ofstream(path, std::ios::trunc).close();
  REQUIRE(eventually([&] { return f->reopened() > before; }));
  std::ofstream(path, std::ios::app) << event("t1").dump() << "\n";
  REQUIRE(eventually([&] { return got.size() == 4; }));
  f->stop();
  CHECK(got.ids == std::vector<std::string>{"f1", "f2", "r1", "t1"});
  CHECK(f->reopened() >= 2);
  CHECK(f->malformed() == 0);
}

TEST_CASE("audit config: k8s_audit.max_request_mb is read and bounded") {
  using pg::user::config::parse_config;
  auto ok = parse_config("k8s_audit: {enabled: true, max_request_mb: 2}\n", "p.yaml");
  REQUIRE(ok);
  CHECK(ok->k8s_audit.max_request_mb == 2);
  CHECK(parse_config("", "p.yaml")->k8s_audit.max_request_mb == 16);
  auto bad = parse_config("k8s_audit:\n  max_request_mb: 0\n", "p.yaml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().key == "k8s_audit.max_request_mb");
  CHECK(bad.error().line == 2);
  auto over = parse_config("", "p.yaml", {"k8s_audit.max_request_mb=4096"});
  REQUIRE_FALSE(over);
  CHECK(over.error().key == "k8s_audit.max_request_mb");
}
