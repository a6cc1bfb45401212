// The configured pipeline end to end: one alert, every output enabled, each
// receiver gets the same JSON document.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "selftests/unit/user/output_test_util.h"
#include "user/config/config.h"
#include "user/output/from_config.h"
#include "user/output/httplib_config.h"

using namespace pg::user;
using namespace pg::user::output::testing;

TEST_CASE("the same alert arrives through stdout, file, syslog, program and HTTP") {
  TempDir dir;
  // syslog receiver
  const auto sock_path = dir / "log.sock";
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  sock_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // HTTP receiver
  httplib::Server svr;
  std::mutex mu;
  std::string http_body;
  svr.Post("/alerts", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard l(mu);
    http_body = req.body;
    res.status = 200;
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  std::thread server([&] { svr.listen_after_bind(); });
  REQUIRE(wait_until([&] { return svr.is_running(); }));
  // stdout
  int out[2];
  REQUIRE(::pipe(out) == 0);

  const std::string yaml =
      "json_output: true\n"
      "file_output: {enabled: true, filename: '" +
      (dir / "alerts.json") +
      "'}\n"
      "syslog_output: {enabled: true, socket: '" +
      sock_path +
      "'}\n"
      "program_output: {enabled: true, program: \"cat >> '" +
      (dir / "prog.json") +
      "'\"}\n"
      "http_output: {enabled: true, url: 'http://127.0.0.1:" +
      std::to_string(port) + "/alerts', headers: {X-Token: t}}\n";
  auto cfg = config::parse_config(yaml, "test.yaml");
  REQUIRE_MESSAGE(cfg, (cfg ? "" : cfg.error().to_string()));
  auto d = output::make_dispatcher(*cfg, out[1]);
  REQUIRE_MESSAGE(d, (d ? "" : d.error()));
  (*d)->start();
  const auto alert = sample_alert();
  const auto expected = nlohmann::json::parse(output::to_json(alert));
  REQUIRE((*d)->enqueue(output::Alert(alert)));

  CHECK(nlohmann::json::parse(read_line(out[0])) == expected);
  REQUIRE(wait_until([&] {
    return (*d)->stats().sinks.size() == 5 && [&] {
      for (const auto& s : (*d)->stats().sinks)
        if (s.delivered != 1) return false;
      return true;
    }();
  }));
  CHECK(nlohmann::json::parse(slurp(dir / "alerts.json")) == expected);
  REQUIRE(wait_until([&] { return slurp(dir / "prog.json").ends_with("\n"); }));
  CHECK(nlohmann::json::parse(slurp(dir / "prog.json")) == expected);
  {
    std::lock_guard l(mu);
    CHECK(nlohmann::json::parse(http_body) == expected);
  }
  char buf[65536];
  const ssize_t n = ::recv(sock, buf, sizeof buf, MSG_DONTWAIT);
  REQUIRE(n > 0);
  const std::string msg(buf, static_cast<size_t>(n));
  const auto json_start = msg.find(": {");
  REQUIRE(json_start != std::string::npos);
  CHECK(nlohmann::json::parse(msg.substr(json_start + 2)) == expected);

  (*d)->stop();
  CHECK((*d)->stats().total_lost() == 0);
  // The HTTP sink's kept-alive connection goes with the dispatcher; the
  // server's stop would otherwise wait for it to time out (5 s).
  d->reset();
  svr.stop();
  server.join();
  ::close(sock);
  ::close(out[0]);
  ::close(out[1]);
}

TEST_CASE("a file output whose directory is missing fails pipeline construction with the path") {
  auto cfg =
      config::parse_config("file_output: {enabled: true, filename: /nonexistent-pg/x.log}\n", "t");
  REQUIRE(cfg);
  auto d = output::make_dispatcher(*cfg);
  REQUIRE_FALSE(d);
  CHECK(d.error().find("/nonexistent-pg/x.log") != std::string::npos);
}
