#include <doctest/doctest.h>
#include <fcntl.h>

#include "user/cli/trace_output.h"
#include "user/engine/arg_format.h"

using namespace pg::user;

TEST_CASE("open flags render as Falco spells them") {
  CHECK(format_open_flags(O_RDONLY) == "O_RDONLY");
  CHECK(format_open_flags(O_WRONLY | O_CREAT | O_TRUNC) == "O_WRONLY|O_CREAT|O_TRUNC");
  CHECK(format_open_flags(O_RDWR | O_CLOEXEC | O_DIRECTORY) == "O_RDWR|O_DIRECTORY|O_CLOEXEC");
  CHECK(format_open_flags(O_RDWR | O_TMPFILE) == "O_RDWR|O_TMPFILE");
}

TEST_CASE("capability sets render as Falco's space-separated CAP_ names") {
  CHECK(format_capabilities(0) == "");
  CHECK(format_capabilities((uint64_t{1} << 0) | (uint64_t{1} << 21)) == "CAP_CHOWN CAP_SYS_ADMIN");
  CHECK(format_capabilities(uint64_t{1} << 40) == "CAP_CHECKPOINT_RESTORE");
  CHECK(format_capabilities(uint64_t{1} << 41) == "CAP_41");  // newer than this table
}

TEST_CASE("results render as SUCCESS or the errno name") {
  CHECK(format_res(0) == "SUCCESS");
  CHECK(format_res(3) == "SUCCESS");
  CHECK(format_res(-2) == "ENOENT");
  CHECK(format_res(-13) == "EACCES");
}

TEST_CASE("times render as RFC 3339 UTC with nanoseconds") {
  CHECK(format_rfc3339_ns(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(format_rfc3339_ns(1'795'836'439'509'676'184ull) == "2026-11-28T03:27:19.509676184Z");
}

TEST_CASE("an open event carries Falco field names, unknown values as null") {
  ProcessTable procs;
  Event e;
  e.kind = EventKind::Open;
  e.open_kind = PG_OPEN_OPENAT;
  e.task.tgid = e.task.tid = 5;
  e.task.comm = "cat";
  e.ret = 3;
  e.path.raw = "shadow";
  e.path.abs = "/etc/shadow";
  auto j = event_to_json(e, procs, 1);
  CHECK(j["evt.type"] == "openat");
  CHECK(j["fd.name"] == "/etc/shadow");
  CHECK(j["fd.directory"] == "/etc");
  CHECK(j["fd.filename"] == "shadow");
  CHECK(j["proc.name"] == "cat");
  CHECK(j["proc.exepath"].is_null());  // process unknown to the table
  e.path.incomplete = true;
  CHECK(event_to_json(e, procs, 2)["fd.name"].is_null());
}
