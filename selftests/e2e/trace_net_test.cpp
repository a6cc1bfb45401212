// peregrine trace: connect with both endpoints decoded.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

using namespace pg::e2e;

TEST_CASE("a loopback TCP connect reports server and client addresses") {
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(srv, 4) == 0);
  socklen_t len = sizeof(addr);
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int cli = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  sockaddr_in local{};
  len = sizeof(local);
  getsockname(cli, reinterpret_cast<sockaddr*>(&local), &len);

  auto e = d.wait_for(
      [&](const Json& j) { return j["evt.type"] == "connect" && j["fd.sport"] == port; });
  REQUIRE(e);
  CHECK((*e)["evt.res"] == "SUCCESS");
  CHECK((*e)["fd.num"] == cli);
  CHECK((*e)["fd.type"] == "ipv4");
  CHECK((*e)["fd.typechar"] == "4");
  CHECK((*e)["fd.l4proto"] == "tcp");
  CHECK((*e)["fd.sip"] == "127.0.0.1");
  CHECK((*e)["fd.cip"] == "127.0.0.1");
  CHECK((*e)["fd.cport"] == ntohs(local.sin_port));
  CHECK((*e)["fd.name"] == "127.0.0.1:" + std::to_string(ntohs(local.sin_port)) +
                               "->127.0.0.1:" + std::to_string(port));
  close(cli);
  close(srv);
}

TEST_CASE("a refused IPv6 connect reports the error and the target") {
  int srv = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  close(srv);  // bound once, now nobody listens on that port

  Daemon d({"trace", "--json", "--syscalls", "connect", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int cli = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == -1);
  close(cli);
  auto e = d.wait_for([&](const Json& j) {
    return j["evt.type"] == "connect" && j["fd.sport"] == ntohs(addr.sin6_port);
  });
  REQUIRE(e);
  CHECK((*e)["evt.res"] == "ECONNREFUSED");
  CHECK((*e)["fd.sip"] == "::1");
  CHECK((*e)["fd.type"] == "ipv6");
  CHECK((*e)["fd.l4proto"] == "tcp");  // the socket says so, connected or not
}

TEST_CASE("a unix socket connect reports the socket path") {
  TempDir dir;
  std::string path = dir.path + "/s.sock";
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(srv, 1) == 0);
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  auto e = d.wait_for([&](const Json& j) { return j["evt.type"] == "connect"; });
  REQUIRE(e);
  CHECK((*e)["fd.type"] == "unix");
  CHECK((*e)["fd.name"] == path);
  close(cli);
  close(srv);
}
