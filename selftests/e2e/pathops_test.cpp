// Path operations (symlink, link, unlink, rename, mkdir, rmdir, chmod and
// their *at forms): what `trace` reports for each, with absolute,
// cwd-relative, dirfd-relative and `..` paths; and Falco's rules about
// them firing on the real actions, with the kernel filter judging the
// first path argument.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.h"
#include "selftests/common/falco_files.h"

using namespace pg::e2e;

namespace {

const std::string kFalcoRules = pg::test::falco_file("falco_rules.yaml");
const std::string kIncubating = pg::test::falco_file("falco-incubating_rules.yaml");

auto event_of(const std::string& type) {
  return [type, pid = getpid()](const Json& j) {
    return j.value("proc.pid", 0) == pid && j.value("evt.type", "") == type;
  };
}

// An output field as a string ("" when absent or <NA>).
std::string field(const Json& alert, const char* name) {
  const Json& f = alert["output_fields"];
  return f.contains(name) && f[name].is_string() ? f[name].get<std::string>() : "";
}

int sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A scratch directory on the root filesystem, so hard links to /etc work.
struct RootFsDir {
  RootFsDir() {
    char tmpl[] = "/var/tmp/pg-e2e-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~RootFsDir() { std::filesystem::remove_all(path); }
  std::string path;
};

}  // namespace

TEST_CASE("every path operation is traced with its arguments resolved as Falco names them") {
  TempDir dir;
  const std::string& t = dir.path;
  std::filesystem::create_directories(t + "/d");
  std::ofstream(t + "/d/f") << "x";
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  const int dfd = open((t + "/d").c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(dfd >= 0);
  const std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(t);

  REQUIRE(syscall(SYS_symlink, "../not/resolved", (t + "/s1").c_str()) == 0);
  REQUIRE(syscall(SYS_symlinkat, "/etc/shadow", dfd, "s2") == 0);
  REQUIRE(syscall(SYS_link, "d/f", "h1") == 0);
  REQUIRE(syscall(SYS_linkat, dfd, "f", AT_FDCWD, "d/../h2", 0) == 0);
  REQUIRE(syscall(SYS_mkdir, "m1", 0750) == 0);
  REQUIRE(syscall(SYS_mkdirat, dfd, "m2", 0700) == 0);
  REQUIRE(syscall(SYS_chmod, "m1", 04755) == 0);
  REQUIRE(syscall(SYS_fchmodat, dfd, "m2", 0711) == 0);
  REQUIRE(syscall(SYS_rename, "h1", "h3") == 0);
  REQUIRE(syscall(SYS_renameat, AT_FDCWD, "h3", dfd, "h4") == 0);
  // A file renamed onto a directory fails: reported with its error.
  REQUIRE(syscall(SYS_renameat2, dfd, "h4", AT_FDCWD, "d", 0) != 0);
  REQUIRE(syscall(SYS_unlink, "h2") == 0);
  REQUIRE(syscall(SYS_unlinkat, dfd, "m2", AT_REMOVEDIR) == 0);
  REQUIRE(syscall(SYS_rmdir, "./m1/") == 0);
  std::filesystem::current_path(cwd);
  close(dfd);

  auto e = d.wait_for(event_of("symlink"));
  REQUIRE(e);
  CHECK((*e)["evt.arg.target"] == "../not/resolved");  // a target is a string, kept as is
  CHECK((*e)["evt.arg.linkpath"] == t + "/s1");
  CHECK((*e)["evt.res"] == "SUCCESS");
  REQUIRE((e = d.wait_for(event_of("symlinkat"))));
  CHECK((*e)["evt.arg.target"] == "/etc/shadow");
  CHECK((*e)["evt.arg.linkpath"] == t + "/d/s2");
  REQUIRE((e = d.wait_for(event_of("link"))));
  CHECK((*e)["evt.arg.oldpath"] == t + "/d/f");
  CHECK((*e)["evt.arg.newpath"] == t + "/h1");
  REQUIRE((e = d.wait_for(event_of("linkat"))));
  CHECK((*e)["evt.arg.oldpath"] == t + "/d/f");
  CHECK((*e)["evt.arg.newpath"] == t + "/h2");  // "d/../h2" normalised
  CHECK((*e)["evt.arg.olddir"] == dfd);
  REQUIRE((e = d.wait_for(event_of("mkdir"))));
  CHECK((*e)["evt.arg.path"] == t + "/m1");
  CHECK((*e)["evt.arg.mode"] == "S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR");  // 0750
  REQUIRE((e = d.wait_for(event_of("mkdirat"))));
  CHECK((*e)["evt.arg.path"] == t + "/d/m2");
  REQUIRE((e = d.wait_for(event_of("chmod"))));
  CHECK((*e)["evt.arg.filename"] == t + "/m1");
  CHECK((*e)["evt.arg.mode"].get<std::string>().find("S_ISUID") != std::string::npos);
  REQUIRE((e = d.wait_for(event_of("fchmodat"))));
  CHECK((*e)["evt.arg.filename"] == t + "/d/m2");
  REQUIRE((e = d.wait_for(event_of("rename"))));
  CHECK((*e)["evt.arg.oldpath"] == t + "/h1");
  CHECK((*e)["evt.arg.newpath"] == t + "/h3");
  REQUIRE((e = d.wait_for(event_of("renameat"))));
  CHECK((*e)["evt.arg.oldpath"] == t + "/h3");
  CHECK((*e)["evt.arg.newpath"] == t + "/d/h4");
  REQUIRE((e = d.wait_for(event_of("renameat2"))));
  CHECK((*e)["evt.failed"] == true);
  REQUIRE((e = d.wait_for(event_of("unlink"))));
  CHECK((*e)["evt.arg.path"] == t + "/h2");
  REQUIRE((e = d.wait_for(event_of("unlinkat"))));
  CHECK((*e)["evt.arg.name"] == t + "/d/m2");
  CHECK((*e)["evt.arg.flags"] == "AT_REMOVEDIR");
  REQUIRE((e = d.wait_for(event_of("rmdir"))));
  CHECK((*e)["evt.arg.path"] == t + "/m1");  // "./m1/" normalised
}

TEST_CASE("symlinks and hard links over sensitive files raise Falco's rules; others do not" *
          PG_NEEDS_FALCO_FILES) {
  RootFsDir dir;
  const std::string& t = dir.path;
  Daemon d({"run", "-r", kFalcoRules, "--json", "-c", "/dev/null"});
  REQUIRE(d.ready());
  // Benign links first, many of them: the kernel stops them.
  REQUIRE(sh("cd " + t + " && for i in $(seq 20); do ln -s /etc/hostname b$i; done") == 0);
  REQUIRE(sh("ln /etc/hostname " + t + "/benign-hard") == 0);
  // A symlink to /etc/shadow, and a hard link to it by a relative path.
  REQUIRE(sh("ln -s /etc/shadow " + t + "/evil-sym") == 0);
  REQUIRE(sh("cd /etc && ln shadow " + t + "/evil-hard") == 0);
  REQUIRE(sh("ln -s /root/ " + t + "/evil-dir") == 0);

  auto sym = [](const std::string& target) {
    return [target](const Json& j) {
      return j.value("rule", "") == "Create Symlink Over Sensitive Files" &&
             field(j, "evt.arg.target") == target;
    };
  };
  REQUIRE_MESSAGE(d.wait_for(sym("/etc/shadow")), d.stderr_text());
  REQUIRE(d.wait_for(sym("/root/")));
  auto hard = d.wait_for(
      [&](const Json& j) { return j.value("rule", "") == "Create Hardlink Over Sensitive Files"; });
  REQUIRE(hard);
  CHECK((*hard)["output_fields"]["evt.arg.oldpath"] == "/etc/shadow");
  CHECK((*hard)["output_fields"]["evt.arg.newpath"] == t + "/evil-hard");
  CHECK((*hard)["output_fields"]["proc.name"] == "ln");

  // The kernel let through the sensitive symlinks only.
  Json ex = Json::parse(run_capture(
      peregrine_bin() + " policy explain 'Create Symlink Over Sensitive Files' --json -r " +
      kFalcoRules));
  REQUIRE(ex["live"] == true);
  uint64_t passed = 0;
  for (const auto& c : ex["rules"][0]["kernel_clauses"]) {
    CHECK(c["clause"].get<std::string>().find("first-path-arg") != std::string::npos);
    passed += c["passed"].get<uint64_t>();
  }
  MESSAGE("symlink rule: " << passed << " events passed the kernel; 20 benign symlinks stopped");
  CHECK(passed >= 2);
  CHECK(passed < 20);
  CHECK(d.stop() == 0);
  for (const auto& j : d.all([](const Json&) { return true; })) {
    CHECK(field(j, "evt.arg.target") != "/etc/hostname");
    CHECK(field(j, "evt.arg.oldpath") != "/etc/hostname");
  }
}

TEST_CASE("renaming and deleting shell history raise Falco's incubating rule" *
          PG_NEEDS_FALCO_FILES) {
  TempDir dir;
  const std::string& t = dir.path;
  Daemon d({"run", "-r", kFalcoRules, "-r", kIncubating, "--json", "-c", "/dev/null", "-o",
            "rule_matching=all"});
  REQUIRE(d.ready());
  const std::string rule = "Delete or rename shell history";
  REQUIRE(sh("cd " + t +
             " && touch notes .zsh_history .bash_history && rm notes && "
             "mv .bash_history old_hist && rm .zsh_history") == 0);
  auto by = [&](const std::string& type) {
    return [&, type](const Json& j) {
      return j.value("rule", "") == rule && field(j, "evt.type") == type;
    };
  };
  auto renamed = d.wait_for(by("renameat2"));
  REQUIRE_MESSAGE(renamed, d.stderr_text());
  CHECK((*renamed)["output_fields"]["evt.arg.oldpath"] == t + "/.bash_history");
  auto removed = d.wait_for(by("unlinkat"));
  REQUIRE(removed);
  CHECK((*removed)["output_fields"]["evt.arg.name"] == t + "/.zsh_history");
  CHECK(d.stop() == 0);
  for (const auto& j : d.all([&](const Json& j) { return j.value("rule", "") == rule; }))
    CHECK(field(j, "evt.arg.name") != t + "/notes");
}
