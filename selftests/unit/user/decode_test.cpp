#include "user/syscalls/decode.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "selftests/unit/user/record_builder.h"

using namespace pg::user;
using pg::user::test::RecordBuilder;

namespace {

void set_task(pg_task& t, uint32_t pid, const char* comm) {
  t.tgid = t.tid = pid;
  t.ppid = 1;
  t.uid = 1000;
  t.gid = 1000;
  t.loginuid = 1000;
  std::strncpy(t.comm, comm, sizeof(t.comm));
}

}  // namespace

TEST_CASE("decoding a relative open resolves fd.name against the walked base") {
  RecordBuilder<pg_open_rec> b;
  set_task(b.rec().task, 42, "cat");
  b.rec().ret = 3;
  b.rec().kind = PG_OPEN_OPENAT;
  b.rec().dirfd = PG_AT_FDCWD;
  b.rec().path = b.add("../etc/./shadow");
  using namespace std::string_view_literals;
  b.rec().base = b.add("u\0home\0"sv, PG_SF_COMPONENTS);
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_OPEN), Clock(5), e));
  CHECK(e.kind == EventKind::Open);
  CHECK(e.type_name() == "openat");
  CHECK(e.time_ns == 1005);
  CHECK(e.task.comm == "cat");
  CHECK(e.path.raw == "../etc/./shadow");
  CHECK(e.path.abs == "/home/etc/shadow");
  CHECK_FALSE(e.path.incomplete);
}

TEST_CASE("an absolute open is normalised without a base") {
  RecordBuilder<pg_open_rec> b;
  set_task(b.rec().task, 42, "cat");
  b.rec().ret = -2;
  b.rec().kind = PG_OPEN_OPEN;
  b.rec().path = b.add("//etc/../etc/shadow");
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_OPEN), Clock(0), e));
  CHECK(e.path.abs == "/etc/shadow");
  CHECK(e.ret == -2);
  CHECK(e.type_name() == "open");
}

TEST_CASE("a relative open whose base walk was truncated has no fd.name") {
  RecordBuilder<pg_open_rec> b;
  set_task(b.rec().task, 42, "cat");
  b.rec().kind = PG_OPEN_OPENAT;
  b.rec().path = b.add("shadow");
  b.rec().base = b.add("deep", PG_SF_COMPONENTS | PG_SF_TRUNCATED);
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_OPEN), Clock(0), e));
  CHECK(e.path.abs.empty());
  CHECK(e.path.incomplete);
}

TEST_CASE("decoding an exec splits argv and rebuilds exe and cwd") {
  RecordBuilder<pg_exec_rec> b;
  set_task(b.rec().task, 7, "ls");
  using namespace std::string_view_literals;
  b.rec().exe = b.add("ls\0bin\0usr\0"sv, PG_SF_COMPONENTS);
  pg_str args = b.add("ls\0-l\0/tmp"sv);
  b.rec().args = args;
  b.rec().cwd = b.add("root\0"sv, PG_SF_COMPONENTS);
  b.rec().tty = 34816;
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_EXEC), Clock(0), e));
  CHECK(e.exe.abs == "/usr/bin/ls");
  CHECK(e.cwd.abs == "/root");
  REQUIRE(e.argv.size() == 3);
  CHECK(e.argv[1] == "-l");
  CHECK(e.argv[2] == "/tmp");
  CHECK(e.tty == 34816);
  CHECK(e.env_known);
}

TEST_CASE("an exec whose environment the kernel did not copy has it unknown, not empty") {
  RecordBuilder<pg_exec_rec> b;
  set_task(b.rec().task, 7, "ls");
  using namespace std::string_view_literals;
  b.rec().args = b.add("ls\0"sv);
  b.rec().env.flags = PG_SF_OMITTED;
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_EXEC), Clock(0), e));
  CHECK_FALSE(e.env_known);
  b = RecordBuilder<pg_exec_rec>{};
  set_task(b.rec().task, 7, "ls");
  b.rec().env = b.add("HOME=/root\0"sv);
  REQUIRE(decode_record(b.finish(PG_REC_EXEC), Clock(0), e));
  CHECK(e.env_known);
  CHECK(e.env == "HOME=/root\0"sv);
}

TEST_CASE("decoding a connect keeps both endpoints") {
  RecordBuilder<pg_connect_rec> b;
  set_task(b.rec().task, 9, "curl");
  b.rec().fd = 5;
  b.rec().remote.family = 2;
  b.rec().remote.port = 8080;
  const uint8_t lo[4] = {127, 0, 0, 1};
  std::memcpy(b.rec().remote.addr, lo, 4);
  b.rec().local = b.rec().remote;
  b.rec().local.port = 40000;
  Event e;
  REQUIRE(decode_record(b.finish(PG_REC_CONNECT), Clock(0), e));
  CHECK(e.remote.to_ip() == "127.0.0.1");
  CHECK(e.remote.port == 8080);
  CHECK(e.local.port == 40000);
  CHECK(e.fd == 5);
}

TEST_CASE("malformed records are rejected with a reason") {
  Event e;
  std::vector<std::byte> tiny(4);
  auto r = decode_record(tiny, Clock(0), e);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("no header") != std::string::npos);

  RecordBuilder<pg_open_rec> b;
  b.rec().path = b.add("/x");
  auto bytes = b.finish(PG_REC_OPEN);
  std::vector<std::byte> cut(bytes.begin(), bytes.end());
  cut.resize(sizeof(pg_open_rec) - 8);
  reinterpret_cast<pg_hdr*>(cut.data())->size = uint32_t(cut.size());
  auto r2 = decode_record(cut, Clock(0), e);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().find("shorter than its fixed part") != std::string::npos);

  RecordBuilder<pg_open_rec> b3;
  b3.rec().path = pg_str{uint16_t(sizeof(pg_open_rec)), 500, 0, 0};  // points past the end
  auto r3 = decode_record(b3.finish(PG_REC_OPEN), Clock(0), e);
  REQUIRE_FALSE(r3);
  CHECK(r3.error().find("runs past the record end") != std::string::npos);

  RecordBuilder<pg_exit_rec> b4;
  auto r4 = decode_record(b4.finish(99), Clock(0), e);
  REQUIRE_FALSE(r4);
  CHECK(r4.error().find("unknown record type 99") != std::string::npos);
}
