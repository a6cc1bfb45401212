#include "user/file_identity.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

using namespace pg::user;

namespace {

std::string comps(const pg_fino_name& n) { return std::string(n.comps, n.len); }

std::pair<uint64_t, uint64_t> id_of(const char* path) {
  struct stat st {};
  REQUIRE(stat(path, &st) == 0);
  return {pg_kernel_dev(major(st.st_dev), minor(st.st_dev)), st.st_ino};
}

}  // namespace

TEST_CASE("file identity: a watched name is kept flat and as a leaf-first dentry walk") {
  auto n = fino_name("/etc/shadow");
  CHECK(std::string(n.path, n.len) == "/etc/shadow");
  CHECK(comps(n) == std::string("shadow\0etc\0", 11));
  auto d = fino_name("/etc");
  CHECK(comps(d) == std::string("etc\0", 4));
  CHECK(fino_name("/").len == 0);  // every walk ends at the root anyway
}

TEST_CASE("file identity: exact paths and the directories of prefixes are stat'ed") {
  pg::policy::FilterTables t{};
  t.paths[{PG_FF_PATH, std::string("/etc/hostname\0", 14)}] = {};
  t.paths[{PG_FF_PATH, "/usr/"}] = {};
  t.paths[{PG_FF_PATH, "/usr/bin/pyth"}] = {};  // a partial name: its directory
  t.paths[{PG_FF_PATH, std::string("/nonexistent-pg\0", 16)}] = {};       // left out
  t.paths[{PG_FF_SUFFIX, "dwssap/"}] = {};                                // suffixes name no file
  t.paths[{PG_FF_PATH, std::string("/etc/../etc/hostname\0", 21)}] = {};  // not normalised
  auto ids = watched_identities(t);
  CHECK(ids.size() == 3);
  CHECK(ids.at(id_of("/etc/hostname")) == "/etc/hostname");
  CHECK(ids.at(id_of("/usr")) == "/usr");
  CHECK(ids.at(id_of("/usr/bin")) == "/usr/bin");
}
