#include "user/path.h"

#include <doctest/doctest.h>

using namespace pg::user;

TEST_CASE("normalize_path collapses duplicate slashes, dot and dot-dot") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"/etc/passwd", "/etc/passwd"},
      {"//etc///passwd", "/etc/passwd"},
      {"/etc/./passwd", "/etc/passwd"},
      {"/etc/ssh/../passwd", "/etc/passwd"},
      {"/../etc/passwd", "/etc/passwd"},
      {"/a/b/c/../../d", "/a/d"},
      {"/", "/"},
      {"/..", "/"},
      {"/etc/", "/etc"},
      {"a/../b", "b"},
      {"../x", "../x"},
      {".", "."},
      {"a/./b//c/", "a/b/c"},
      {"/tmp/..x/y", "/tmp/..x/y"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(normalize_path(c.in) == c.out);
  }
}

TEST_CASE("resolve_path joins relative paths to the base and keeps absolute ones") {
  CHECK(resolve_path("/etc", "shadow") == "/etc/shadow");
  CHECK(resolve_path("/etc", "./shadow") == "/etc/shadow");
  CHECK(resolve_path("/home/u", "../../etc/shadow") == "/etc/shadow");
  CHECK(resolve_path("/", "etc/shadow") == "/etc/shadow");
  CHECK(resolve_path("/ignored", "/etc//shadow") == "/etc/shadow");
}

TEST_CASE("path_from_components reverses a leaf-first dentry walk") {
  using namespace std::string_view_literals;
  CHECK(path_from_components("c\0b\0a\0"sv) == "/a/b/c");
  CHECK(path_from_components("etc\0"sv) == "/etc");
  CHECK(path_from_components(""sv) == "/");
  CHECK(path_from_components("\0"sv) == "/");
}

TEST_CASE("path_dirname and path_basename split like fd.directory and fd.filename") {
  CHECK(path_dirname("/etc/shadow") == "/etc");
  CHECK(path_basename("/etc/shadow") == "shadow");
  CHECK(path_dirname("/shadow") == "/");
  CHECK(path_basename("/") == "");
}
