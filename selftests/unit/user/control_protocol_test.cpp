// The control protocol: every request validated before anything runs, and
// the socket round trip (root only).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "user/control/protocol.h"
#include "user/control/socket.h"

using namespace pg::user::control;

TEST_CASE("control requests: valid ones parse, every malformed one gets its code") {
  struct Case {
    const char* line;
    std::optional<ErrorCode> error;  // nullopt: accepted
    const char* message_part;
  };
  const Case cases[] = {
      {R"({"version":1,"command":"status"})", std::nullopt, ""},
      {R"({"version":1,"command":"policy.list","args":{}})", std::nullopt, ""},
      {R"({"version":1,"command":"policy.load","args":{"name":"x","files":["/a.yaml"]}})",
       std::nullopt, ""},
      {R"({"version":1,"command":"policy.load","args":{"name":"x","files":["/a"],"strict":true}})",
       std::nullopt, ""},
      {R"({"version":1,"command":"policy.load","args":{"name":"x","files":["/a"],"strict":"yes"}})",
       ErrorCode::BadRequest, "true or false"},
      {R"({"version":1,"command":"policy.reload"})", std::nullopt, ""},
      {R"({"version":1,"command":"rules.disable","args":{"tag":"network"}})", std::nullopt, ""},
      {"not json", ErrorCode::BadRequest, "not valid JSON"},
      {"[1,2]", ErrorCode::BadRequest, "JSON object"},
      {R"({"command":"status"})", ErrorCode::BadRequest, "version"},
      {R"({"version":2,"command":"status"})", ErrorCode::UnsupportedVersion, "version 1"},
      {R"({"version":"1","command":"status"})", ErrorCode::BadRequest, "integer"},
      {R"({"version":1})", ErrorCode::BadRequest, "command"},
      {R"({"version":1,"command":"format-disk"})", ErrorCode::UnknownCommand, "policy.load"},
      {R"({"version":1,"command":"status","extra":1})", ErrorCode::BadRequest, "extra"},
      {R"({"version":1,"command":"policy.load","args":{"name":"x"}})", ErrorCode::BadRequest,
       "'files'"},
      {R"({"version":1,"command":"policy.load","args":{"name":"x","files":"/a"}})",
       ErrorCode::BadRequest, "list"},
      {R"({"version":1,"command":"policy.load","args":{"name":"x","files":[""]}})",
       ErrorCode::BadRequest, "non-empty"},
      {R"({"version":1,"command":"policy.show","args":{"name":7}})", ErrorCode::BadRequest,
       "string"},
      {R"({"version":1,"command":"policy.unload","args":{"name":"x","force":true}})",
       ErrorCode::BadRequest, "force"},
      {R"({"version":1,"command":"rules.enable","args":{}})", ErrorCode::BadRequest, "exactly one"},
      {R"({"version":1,"command":"rules.enable","args":{"rule":"a","tag":"b"}})",
       ErrorCode::BadRequest, "exactly one"},
      {R"({"version":1,"command":"status","args":[]})", ErrorCode::BadRequest, "object"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto r = parse_request(c.line);
    if (!c.error) {
      CHECK(r.has_value());
      continue;
    }
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == *c.error);
    CHECK(r.error().message.find(c.message_part) != std::string::npos);
  }
  CHECK(parse_request(std::string(kMaxMessageBytes + 1, ' ')).error().code ==
        ErrorCode::BadRequest);
}

TEST_CASE("control responses carry the code name and located diagnostics") {
  Error e{ErrorCode::RulesInvalid, "bad", {}};
  pg::policy::Diagnostic d;
  d.code = pg::policy::Code::ErrCompileCondition;
  d.loc.file = "x.yaml";
  d.loc.line = 3;
  d.loc.col = 14;
  d.message = "oops";
  e.diagnostics.push_back(d);
  auto j = error_response(e);
  CHECK(j["version"] == kProtocolVersion);
  CHECK(j["ok"] == false);
  CHECK(j["error"]["code"] == "rules-invalid");
  CHECK(j["error"]["diagnostics"][0]["file"] == "x.yaml");
  CHECK(j["error"]["diagnostics"][0]["line"] == 3);
  CHECK(j["error"]["diagnostics"][0]["column"] == 14);
  CHECK(j["error"]["diagnostics"][0]["text"].get<std::string>().find("x.yaml:3:14") !=
        std::string::npos);
  CHECK(ok_response({{"a", 1}})["result"]["a"] == 1);
}

TEST_CASE(
    "the control socket is 0600, answers root, refuses a second daemon, replaces a stale file") {
  char t[] = "/tmp/pg-ctl-XXXXXX";
  const std::string dir = mkdtemp(t);
  const std::string path = dir + "/sub/ctl.sock";  // the directory is created
  {
    auto s = ControlServer::start(path, [](const Request& r) {
      return ok_response({{"echo", r.command}});
    });
    REQUIRE(s);
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto r = call(path, make_request("status"));
    REQUIRE(r);
    if (geteuid() == 0) {
      CHECK((*r)["ok"] == true);
      CHECK((*r)["result"]["echo"] == "status");
      auto bad = call(path, Json{{"version", 9}, {"command", "status"}});
      REQUIRE(bad);
      CHECK((*bad)["error"]["code"] == "unsupported-version");
    } else {
      CHECK((*r)["error"]["code"] == "permission-denied");
    }
    auto second = ControlServer::start(path, [](const Request&) { return ok_response({}); });
    REQUIRE_FALSE(second);
    CHECK(second.error().find("another peregrine daemon") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(path));  // removed on shutdown
  // A stale socket file (its daemon died) is replaced.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  close(fd);
  auto again = ControlServer::start(path, [](const Request&) { return ok_response({}); });
  CHECK(again);
  again->reset();
  auto none = call(path, make_request("status"));
  REQUIRE_FALSE(none);
  CHECK(none.error().find("is the daemon running") != std::string::npos);
  std::filesystem::remove_all(dir);
}

namespace {
int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

TEST_CASE("stalled control clients neither wedge the socket nor exceed the client limit") {
  if (geteuid() != 0) return;  // only root is answered
  char t[] = "/tmp/pg-ctl-XXXXXX";
  const std::string dir = mkdtemp(t);
  const std::string path = dir + "/ctl.sock";
  auto s = ControlServer::start(path, [](const Request& r) {
    return ok_response({{"echo", r.command}});
  });
  REQUIRE(s);
  // Eight clients connect and send nothing (one byte, no newline).
  std::vector<int> stalled;
  for (int i = 0; i < 8; ++i) {
    int fd = connect_to(path);
    REQUIRE(fd >= 0);
    CHECK(write(fd, "{", 1) == 1);
    stalled.push_back(fd);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = call(path, make_request("status"), std::chrono::seconds(3));
  REQUIRE(r);
  CHECK((*r)["ok"] == true);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  // Past the limit a client is told at once, not queued behind the others.
  for (size_t i = stalled.size(); i < kMaxClients; ++i) stalled.push_back(connect_to(path));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // all accepted
  t0 = std::chrono::steady_clock::now();
  auto busy = call(path, make_request("status"), std::chrono::seconds(3));
  REQUIRE(busy);
  CHECK((*busy)["error"]["code"] == "busy");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  for (int fd : stalled) close(fd);
  // Once they are gone, requests are served again.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto ok = call(path, make_request("status"), std::chrono::seconds(3));
    served = ok && (*ok)["ok"] == true;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(served);
  // Stopping the server does not wait for stalled clients either.
  for (int i = 0; i < 4; ++i) stalled[size_t(i)] = connect_to(path);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  t0 = std::chrono::steady_clock::now();
  s->reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  for (int i = 0; i < 4; ++i) close(stalled[size_t(i)]);
  std::filesystem::remove_all(dir);
}
