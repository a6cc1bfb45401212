// Descriptors the kernel resolves at event time (dup family, accept,
// sendto, sendmsg): fd.* must describe what the descriptor really is, also
// when it was opened long before, by another syscall nobody traced, or by
// a parent process before fork and exec.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <fstream>

#include "harness.h"

using namespace pg::e2e;

namespace {

auto event_where(pid_t pid, const std::string& type, const char* field, const Json& value) {
  return [=](const Json& j) {
    return j.value("proc.pid", 0) == pid && j.value("evt.type", "") == type && j.contains(field) &&
           j[field] == value;
  };
}

uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("descriptors: a file opened before fork and exec resolves in the child's dup") {
  TempDir dir;
  const std::string file = dir.path + "/inherited.txt";
  std::ofstream(file) << "x\n";
  Daemon d({"trace", "--json", "--syscalls", "dup,dup2,dup3"});
  REQUIRE(d.ready());
  // Opened here (untraced: open is not asked for), inherited as fd 5 by a
  // shell that execs and then duplicates it.
  const int f = open(file.c_str(), O_RDONLY);
  REQUIRE(f >= 0);
  const pid_t child = fork();
  if (child == 0) {
    dup2(f, 5);
    execl("/bin/sh", "sh", "-c", "exec 7<&5", static_cast<char*>(nullptr));
    _exit(127);
  }
  int st = 0;
  waitpid(child, &st, 0);
  close(f);
  auto e = d.wait_for(event_where(child, "dup2", "fd.num", 5), 10s);
  REQUIRE_MESSAGE(e, d.stderr_text());
  CHECK((*e)["fd.name"] == file);
  CHECK((*e)["fd.type"] == "file");
  CHECK((*e)["fd.typechar"] == "f");
  CHECK((*e)["evt.rawres"] == 7);
  CHECK((*e)["evt.arg.oldfd"] == 5);
  CHECK((*e)["evt.arg.newfd"] == 7);
  d.stop();
}

TEST_CASE("descriptors: accept, a dup'ed socket, sendto and a pipe are described by fd.*") {
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid()), "--syscalls",
            "dup,dup2,dup3,accept,accept4,sendto,sendmsg"});
  REQUIRE(d.ready());
  const pid_t me = getpid();

  const int lsn = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in lo{};
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(lsn, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  REQUIRE(listen(lsn, 1) == 0);
  const uint16_t server_port = port_of(lsn);
  lo.sin_port = htons(server_port);
  const int cli = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  const uint16_t client_port = port_of(cli);
  const int acc = accept4(lsn, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(acc >= 0);
  const std::string tuple =
      "127.0.0.1:" + std::to_string(client_port) + "->127.0.0.1:" + std::to_string(server_port);
  // The connected socket dup'ed onto a high descriptor, as a reverse shell
  // puts one on 0-2.
  const int high = dup2(cli, 200);
  REQUIRE(high == 200);
  // The accepted end dup'ed: still client->server. (The kernel tells an
  // accepted connection by its port, which the listener's bind() chose;
  // find a free port, then bind a listener to it by number.)
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  lo.sin_port = 0;
  REQUIRE(bind(probe, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  const uint16_t port2 = port_of(probe);
  close(probe);
  lo.sin_port = htons(port2);
  const int lsn2 = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(bind(lsn2, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  REQUIRE(listen(lsn2, 1) == 0);
  const int cli2 = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(cli2, reinterpret_cast<sockaddr*>(&lo), sizeof(lo)) == 0);
  const int acc2 = accept4(lsn2, nullptr, nullptr, 0);
  REQUIRE(acc2 >= 0);
  const std::string tuple2 =
      "127.0.0.1:" + std::to_string(port_of(cli2)) + "->127.0.0.1:" + std::to_string(port2);
  const int acc2_dup = dup(acc2);

  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst = lo;
  dst.sin_port = htons(9);
  REQUIRE(sendto(udp, "x", 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 1);

  int p[2];
  REQUIRE(pipe(p) == 0);
  const int pd = dup(p[0]);

  auto a = d.wait_for(event_where(me, "accept4", "fd.num", acc), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  CHECK((*a)["fd.type"] == "ipv4");
  CHECK((*a)["fd.l4proto"] == "tcp");
  CHECK((*a)["fd.name"] == tuple);  // client->server, as Falco writes it
  CHECK((*a)["fd.sport"] == server_port);
  CHECK((*a)["fd.cport"] == client_port);

  auto du = d.wait_for(event_where(me, "dup2", "evt.rawres", 200), 10s);
  REQUIRE(du);
  CHECK((*du)["fd.num"] == cli);
  CHECK((*du)["fd.type"] == "ipv4");
  CHECK((*du)["fd.typechar"] == "4");
  CHECK((*du)["fd.name"] == tuple);
  CHECK((*du)["fd.connected"] == true);
  auto ad = d.wait_for(event_where(me, "dup", "evt.rawres", acc2_dup), 10s);
  REQUIRE(ad);
  CHECK((*ad)["fd.name"] == tuple2);
  CHECK((*ad)["fd.sport"] == port2);

  auto s = d.wait_for(event_where(me, "sendto", "fd.num", udp), 10s);
  REQUIRE(s);
  CHECK((*s)["fd.l4proto"] == "udp");
  CHECK((*s)["fd.sip"] == "127.0.0.1");
  CHECK((*s)["fd.sport"] == 9);
  CHECK((*s)["fd.connected"] == false);

  auto pe = d.wait_for(event_where(me, "dup", "evt.rawres", pd), 10s);
  REQUIRE(pe);
  CHECK((*pe)["fd.type"] == "pipe");
  CHECK((*pe)["fd.typechar"] == "p");

  for (int fd : {lsn, cli, acc, high, lsn2, cli2, acc2, acc2_dup, udp, p[0], p[1], pd}) close(fd);
  d.stop();
}

TEST_CASE("descriptors: unix sockets resolve to their path, the peer's path or an abstract name") {
  TempDir dir;
  const std::string path = dir.path + "/server.sock";
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid()), "--syscalls", "dup,accept4"});
  REQUIRE(d.ready());
  auto unix_addr = [](const std::string& name) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    return std::pair{a, socklen_t(offsetof(sockaddr_un, sun_path) + name.size())};
  };
  const int lsn = socket(AF_UNIX, SOCK_STREAM, 0);
  auto [la, llen] = unix_addr(path);
  REQUIRE(bind(lsn, reinterpret_cast<sockaddr*>(&la), llen) == 0);
  REQUIRE(listen(lsn, 1) == 0);
  const int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&la), llen) == 0);
  const int acc = accept4(lsn, nullptr, nullptr, 0);
  REQUIRE(acc >= 0);
  const int abs = socket(AF_UNIX, SOCK_DGRAM, 0);
  auto [aa, alen] = unix_addr(std::string("\0pg-e2e-abstract", 16));
  REQUIRE(bind(abs, reinterpret_cast<sockaddr*>(&aa), alen) == 0);
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  // The client is unnamed: it goes by the listener's path it connected to.
  const int dups[] = {dup(cli), dup(lsn), dup(abs), dup(pair[0])};
  const pid_t me = getpid();

  auto a = d.wait_for(event_where(me, "accept4", "fd.num", acc), 10s);
  REQUIRE_MESSAGE(a, d.stderr_text());
  CHECK((*a)["fd.type"] == "unix");
  CHECK((*a)["fd.name"] == path);
  CHECK(d.wait_for(event_where(me, "dup", "evt.rawres", dups[0])).value()["fd.name"] == path);
  CHECK(d.wait_for(event_where(me, "dup", "evt.rawres", dups[1])).value()["fd.name"] == path);
  CHECK(d.wait_for(event_where(me, "dup", "evt.rawres", dups[2])).value()["fd.name"] ==
        "@pg-e2e-abstract");
  auto unnamed = d.wait_for(event_where(me, "dup", "evt.rawres", dups[3]));
  REQUIRE(unnamed);
  CHECK((*unnamed)["fd.type"] == "unix");
  CHECK((*unnamed)["fd.name"].is_null());
  for (int fd : dups) close(fd);
  for (int fd : {lsn, cli, acc, abs, pair[0], pair[1]}) close(fd);
  CHECK(d.stop() == 0);
}
