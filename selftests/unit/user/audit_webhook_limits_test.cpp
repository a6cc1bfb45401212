// The audit webhook against hostile clients, over real loopback sockets:
// a chunked body far over the limit, slowloris clients, more connections
// than allowed, invalid UTF-8, and a non-loopback address without a token.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "user/audit/webhook.h"

using namespace pg::user::audit;
using namespace std::chrono_literals;

namespace {

struct Got {
  std::mutex mu;
  std::vector<std::string> ids;
  EventSink sink() {
    return [this](const Json& e, int64_t) {
      std::lock_guard lock(mu);
      ids.push_back(e.value("auditID", ""));
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return ids.size();
  }
};

std::string event(const std::string& id) {
  return nlohmann::json{{"kind", "Event"},
                        {"apiVersion", "audit.k8s.io/v1"},
                        {"auditID", id},
                        {"stage", "ResponseComplete"},
                        {"verb", "get"}}
      .dump();
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(size_t(n));
  }
  return true;
}

// Everything the server sends until it closes or `limit` passes.
std::string read_reply(int fd, std::chrono::milliseconds limit = 5s) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
    // One whole response with a body is enough.
    auto head = out.find("\r\n\r\n");
    auto cl = out.find("Content-Length: ");
    if (head != std::string::npos && cl != std::string::npos &&
        out.size() >= head + 4 + std::stoul(out.substr(cl + 16)))
      break;
  }
  return out;
}

std::string post(int port, const std::string& body, const std::string& extra_headers = "") {
  int fd = connect_to(port);
  send_all(fd, "POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                   extra_headers + "Content-Length: " + std::to_string(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body);
  std::string r = read_reply(fd);
  ::close(fd);
  return r;
}

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

std::unique_ptr<Webhook> start(WebhookOptions o, Got& got) {
  o.address = o.address.empty() ? "127.0.0.1" : o.address;
  o.port = 0;
  auto w = Webhook::start(o, got.sink());
  REQUIRE_MESSAGE(w, (w ? "" : w.error()));
  return std::move(*w);
}

}  // namespace

TEST_CASE("audit webhook: a chunked 400 MiB upload is refused at the limit without RSS growth") {
  Got got;
  auto hook = start({}, got);  // default limit: 16 MiB
  const long before = rss_kb();
  int fd = connect_to(hook->port());
  REQUIRE(send_all(fd,
                   "POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "100000\r\n" + std::string(1 << 20, ' ') + "\r\n";  // 1 MiB
  size_t sent_mib = 0;
  std::string reply;
  for (; sent_mib < 400; ++sent_mib) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) break;  // the server answered (and closes)
    if (!send_all(fd, chunk)) break;
  }
  reply = read_reply(fd);
  ::close(fd);
  CHECK(reply.starts_with("HTTP/1.1 413"));
  CHECK(sent_mib < 400);
  CHECK(rss_kb() - before < 48 * 1024);
  CHECK(hook->stats().too_large == 1);
  CHECK(got.size() == 0);
  // A chunked body under the limit is accepted.
  const std::string ev = event("chunked-ok");
  fd = connect_to(hook->port());
  char size[32];
  snprintf(size, sizeof(size), "%zx", ev.size() - 10);
  send_all(fd,
           "POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
               std::string(size) + "\r\n" + ev.substr(0, ev.size() - 10) + "\r\na\r\n" +
               ev.substr(ev.size() - 10) + "\r\n0\r\n\r\n");
  reply = read_reply(fd);
  ::close(fd);
  CHECK(reply.starts_with("HTTP/1.1 200"));
  CHECK(got.ids == std::vector<std::string>{"chunked-ok"});
}

TEST_CASE("audit webhook: 8 slowloris clients neither block others nor stay forever") {
  Got got;
  WebhookOptions o;
  o.head_timeout = 1500ms;
  auto hook = start(o, got);
  // Eight clients send a request head one byte at a time, slowly.
  const std::string head = "POST /k8s-audit HTTP/1.1\r\nHost: x\r\n";
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) slow.push_back(connect_to(hook->port()));
  std::atomic<bool> done{false};
  std::thread drip([&] {
    for (size_t i = 0; i < head.size() && !done; ++i) {
      for (int fd : slow) ::send(fd, &head[i], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(200ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  // A ninth client is served at once, its event evaluated.
  const auto t0 = std::chrono::steady_clock::now();
  std::string r = post(hook->port(), event("ninth"));
  CHECK(r.starts_with("HTTP/1.1 200"));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(got.ids == std::vector<std::string>{"ninth"});
  // The slow ones get 408 once the head deadline passes, and are closed.
  for (int fd : slow) CHECK(read_reply(fd, 4s).starts_with("HTTP/1.1 408"));
  done = true;
  drip.join();
  for (int fd : slow) ::close(fd);
  CHECK(hook->stats().requests == 1);
  // Stopping does not wait for idle or slow clients.
  int idle = connect_to(hook->port());
  std::this_thread::sleep_for(50ms);
  const auto t1 = std::chrono::steady_clock::now();
  hook->stop();
  CHECK(std::chrono::steady_clock::now() - t1 < 1s);
  ::close(idle);
}

TEST_CASE("audit webhook: past max_connections a client gets 503 at once") {
  Got got;
  WebhookOptions o;
  o.max_connections = 4;
  auto hook = start(o, got);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to(hook->port()));
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  std::string r = post(hook->port(), event("fifth"));
  CHECK(r.starts_with("HTTP/1.1 503"));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  for (int fd : idle) ::close(fd);
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = post(hook->port(), event("later")).starts_with("HTTP/1.1 200");
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("audit webhook: invalid UTF-8 and other bad input get a clean 400") {
  Got got;
  auto hook = start({}, got);
  const std::vector<std::string> bad = {
      "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"\xff\xfe\"}",
      "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"v\xc0\xaf\":1}",
      "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"\\ud800\"}",
      "\xef\xbb\xbf\xff",
      "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\x1b[2J\"}",
  };
  for (const auto& body : bad) {
    CAPTURE(body);
    std::string r = post(hook->port(), body);
    CHECK(r.starts_with("HTTP/1.1 400"));
    CHECK(r.find("exception") == std::string::npos);
    CHECK(r.find("EXCEPTION") == std::string::npos);
    CHECK(r.find("\xff") == std::string::npos);
    CHECK(r.find("\x1b") == std::string::npos);
    const auto body_at = r.find("\r\n\r\n");
    REQUIRE(body_at != std::string::npos);
    CHECK_FALSE(nlohmann::json::parse(r.substr(body_at + 4), nullptr, false).is_discarded());
  }
  // Not HTTP at all, a bad Content-Length, a bad chunk size: 400, no crash.
  for (const std::string raw :
       {"GARBAGE\r\n\r\n", "POST /k8s-audit HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
        "POST /k8s-audit HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\n"}) {
    int fd = connect_to(hook->port());
    send_all(fd, raw);
    CHECK(read_reply(fd).starts_with("HTTP/1.1 400"));
    ::close(fd);
  }
  CHECK(got.size() == 0);
}

TEST_CASE(
    "audit webhook: a non-loopback address needs a token; then unauthenticated requests get 401") {
  Got got;
  WebhookOptions o;
  o.address = "0.0.0.0";
  o.port = 0;
  auto refused = Webhook::start(o, got.sink());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("needs a bearer token") != std::string::npos);
  o.token = "t0ken";
  auto hook = start(o, got);
  CHECK(post(hook->port(), event("anon")).starts_with("HTTP/1.1 401"));
  CHECK(post(hook->port(), event("auth"), "Authorization: Bearer t0ken\r\n")
            .starts_with("HTTP/1.1 200"));
  CHECK(got.ids == std::vector<std::string>{"auth"});
  CHECK(WebhookOptions{}.address == "127.0.0.1");
}
