// The webhook sink against a real HTTP server on 127.0.0.1, and the
// guarantee that a dead or slow webhook never holds back stdout.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/dispatcher.h"
#include "user/output/httplib_config.h"
#include "user/output/sinks.h"

using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// An httplib::Server on an ephemeral loopback port, run on its own thread.
struct TestServer {
  TestServer() = default;
  void start() {
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { svr.listen_after_bind(); });
    REQUIRE(wait_until([&] { return svr.is_running(); }));
  }
  ~TestServer() {
    svr.stop();
    if (thread.joinable()) thread.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  httplib::Server svr;
  std::thread thread;
  int port = 0;
};

// A loopback port with nothing listening: bind, learn the port, close.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("http sink POSTs the alert JSON with the configured headers") {
  TestServer server;
  std::mutex mu;
  std::string body, content_type, token, path;
  server.svr.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard l(mu);
    body = req.body;
    content_type = req.get_header_value("Content-Type");
    token = req.get_header_value("X-Token");
    path = req.path;
    res.status = 200;
  });
  server.start();
  HttpSinkOptions opts;
  opts.url = server.url("/hook");
  opts.headers = {{"X-Token", "s3cret"}};
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  REQUIRE((*sink)->deliver(rendered()));
  std::lock_guard l(mu);
  CHECK(path == "/hook");
  CHECK(content_type == "application/json");
  CHECK(token == "s3cret");
  const auto doc = nlohmann::json::parse(body);
  CHECK(doc["rule"] == "Write below etc");
  CHECK(doc["output_fields"]["proc.pid"] == 4242);
}

TEST_CASE("http sink retries a 5xx answer a bounded number of times, then fails") {
  TestServer server;
  std::atomic<int> hits{0};
  server.svr.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 503;
  });
  server.start();
  HttpSinkOptions opts;
  opts.url = server.url("/");
  opts.max_retries = 2;
  opts.initial_backoff = std::chrono::milliseconds(10);
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  auto r = (*sink)->deliver(rendered());
  REQUIRE_FALSE(r);
  CHECK(r.error().find("503") != std::string::npos);
  CHECK(hits == 3);
}

TEST_CASE("http sink does not retry a 4xx answer") {
  TestServer server;
  std::atomic<int> hits{0};
  server.svr.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 400;
  });
  server.start();
  HttpSinkOptions opts;
  opts.url = server.url("/");
  opts.initial_backoff = std::chrono::milliseconds(10);
  auto sink = make_http_sink(opts);
  REQUIRE(sink);
  CHECK_FALSE((*sink)->deliver(rendered()));
  CHECK(hits == 1);
}

TEST_CASE("http sink rejects a malformed URL") {
  for (const char* bad : {"", "ftp://x/", "127.0.0.1:80/x", "http://", "http://host:port/"}) {
    HttpSinkOptions opts;
    opts.url = bad;
    CHECK_FALSE(make_http_sink(opts));
  }
  HttpSinkOptions ok;
  ok.url = "https://[::1]:8443/a?b=c";
  CHECK(make_http_sink(ok));
}

TEST_CASE("a webhook that refuses connections never delays stdout; its failures are counted") {
  Pipe out;
  Dispatcher d(Dispatcher::Options{});
  d.add_sink(make_stdout_sink({LineFormat::Json, out.fds[1]}));
  HttpSinkOptions opts;
  opts.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  opts.max_retries = 2;
  opts.initial_backoff = std::chrono::milliseconds(1000);  // the sink is busy for ≥ 3 s per alert
  auto http = make_http_sink(opts);
  REQUIRE(http);
  d.add_sink(std::move(*http), 1);
  d.start();
  for (int i = 0; i < 4; ++i) REQUIRE(d.enqueue(sample_alert("r" + std::to_string(i))));
  for (int i = 0; i < 4; ++i)
    CHECK(nlohmann::json::parse(read_line(out.fds[0]))["rule"] == "r" + std::to_string(i));
  // All four stdout lines were read while the webhook was still retrying
  // its first alert.
  CHECK(d.stats().sinks[1].failed == 0);
  REQUIRE(wait_until([&] { return d.stats().sinks[1].failed >= 1; }));
  d.stop(std::chrono::milliseconds(100));
  const auto s = d.stats();
  CHECK(s.sinks[0].delivered == 4);
  CHECK(s.sinks[1].delivered == 0);
  CHECK(s.sinks[1].failed + s.sinks[1].dropped == 4);
  CHECK(s.sinks[1].dropped >= 2);  // queue of one: at most one waiting behind the one in flight
}

TEST_CASE("a webhook that answers slowly never delays stdout; the timeout counts as a failure") {
  TestServer server;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> waiting{0};
  server.svr.Post("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock l(mu);
    ++waiting;
    cv.wait_for(l, std::chrono::seconds(10), [&] { return release; });
    res.status = 200;
  });
  server.start();
  Pipe out;
  Dispatcher d(Dispatcher::Options{});
  d.add_sink(make_stdout_sink({LineFormat::Text, out.fds[1]}));
  HttpSinkOptions opts;
  opts.url = server.url("/slow");
  opts.read_timeout = std::chrono::milliseconds(300);
  opts.max_retries = 0;
  auto http = make_http_sink(opts);
  REQUIRE(http);
  d.add_sink(std::move(*http), 2);
  d.start();
  REQUIRE(d.enqueue(sample_alert("r", "slow one")));
  REQUIRE(wait_until([&] { return waiting.load() == 1; }));  // the server holds the request
  REQUIRE(d.enqueue(sample_alert("r", "next one")));
  CHECK(read_line(out.fds[0]).ends_with("slow one"));
  CHECK(read_line(out.fds[0]).ends_with("next one"));
  {
    std::lock_guard l(mu);
    CHECK_FALSE(release);  // the server is still sitting on the first request
  }
  REQUIRE(wait_until([&] { return d.stats().sinks[1].failed >= 1; }));
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  d.stop(std::chrono::milliseconds(2000));
  const auto s = d.stats();
  CHECK(s.sinks[0].delivered == 2);
  CHECK(s.sinks[1].failed >= 1);
  CHECK(s.sinks[1].failed + s.sinks[1].delivered == 2);
}
