// peregrine trace: file opens by absolute, relative, dirfd-relative and
// non-normalised paths, failures, and each syscall of the open family.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

#include "harness.h"

using namespace pg::e2e;

namespace {

auto opened(const std::string& name, const char* type = nullptr) {
  return [name, type, pid = getpid()](const Json& j) {
    return j.value("proc.pid", 0) == pid && j.contains("fd.name") && j["fd.name"] == name &&
           (!type || j["evt.type"] == type);
  };
}

void touch(const std::string& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("an absolute open is reported with the process and file fields") {
  TempDir dir;
  touch(dir.path + "/a.txt");
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int fd = open((dir.path + "/a.txt").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  close(fd);
  auto e = d.wait_for(opened(dir.path + "/a.txt", "openat"));
  REQUIRE(e);
  CHECK((*e)["evt.res"] == "SUCCESS");
  CHECK((*e)["evt.rawres"] == fd);
  CHECK((*e)["fd.num"] == fd);
  CHECK((*e)["fd.directory"] == dir.path);
  CHECK((*e)["fd.filename"] == "a.txt");
  CHECK((*e)["evt.arg.flags"] == "O_RDONLY|O_CLOEXEC");
  CHECK((*e)["user.uid"] == getuid());
  CHECK((*e)["proc.ppid"] == getppid());
  CHECK((*e)["thread.tid"] == gettid());
  CHECK((*e)["proc.exepath"] == std::filesystem::canonical("/proc/self/exe").string());
  CHECK(!(*e)["proc.cmdline"].is_null());
  CHECK((*e)["container.id"] == "host");  // from the cgroup path
}

TEST_CASE("a relative open is resolved against the cwd and normalised") {
  TempDir dir;
  std::filesystem::create_directories(dir.path + "/sub");
  touch(dir.path + "/rel.txt");
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  auto old = std::filesystem::current_path();
  REQUIRE(chdir(dir.path.c_str()) == 0);
  int fd = open("./sub/../rel.txt", O_RDONLY);
  REQUIRE(chdir(old.c_str()) == 0);
  REQUIRE(fd >= 0);
  close(fd);
  auto e = d.wait_for(opened(dir.path + "/rel.txt"));
  REQUIRE(e);
  CHECK((*e)["evt.arg.name"] == "./sub/../rel.txt");
}

TEST_CASE("a dirfd-relative openat is resolved against the directory fd") {
  TempDir dir;
  std::filesystem::create_directories(dir.path + "/d");
  touch(dir.path + "/d/x.txt");
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  int dfd = open((dir.path + "/d").c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(dfd >= 0);
  int fd = openat(dfd, "x.txt", O_RDONLY);
  REQUIRE(fd >= 0);
  close(fd);
  auto e = d.wait_for(opened(dir.path + "/d/x.txt", "openat"));
  REQUIRE(e);
  CHECK((*e)["evt.arg.dirfd"] == dfd);
  close(dfd);
}

TEST_CASE("a failed open reports the error and the path it tried") {
  TempDir dir;
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  std::string missing = dir.path + "//nope/../missing.txt";
  CHECK(open(missing.c_str(), O_RDONLY) == -1);
  auto e = d.wait_for(opened(dir.path + "/missing.txt"));
  REQUIRE(e);
  CHECK((*e)["evt.res"] == "ENOENT");
  CHECK((*e)["evt.rawres"] == -ENOENT);
  CHECK((*e)["evt.failed"] == true);
  CHECK((*e)["fd.num"] == -1);  // as Falco reports a failed open
}

TEST_CASE("open, openat2 and creat are each captured under their own name") {
  TempDir dir;
  Daemon d({"trace", "--json", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  std::string p1 = dir.path + "/via-open", p2 = dir.path + "/via-openat2",
              p3 = dir.path + "/via-creat";
  int fd1 = int(syscall(SYS_open, p1.c_str(), O_CREAT | O_WRONLY, 0600));
  REQUIRE(fd1 >= 0);
  close(fd1);
  open_how how{};
  how.flags = O_CREAT | O_RDWR;
  how.mode = 0640;
  int fd2 = int(syscall(SYS_openat2, AT_FDCWD, p2.c_str(), &how, sizeof(how)));
  REQUIRE(fd2 >= 0);
  close(fd2);
  int fd3 = creat(p3.c_str(), 0600);
  REQUIRE(fd3 >= 0);
  close(fd3);
  auto e1 = d.wait_for(opened(p1, "open"));
  auto e2 = d.wait_for(opened(p2, "openat2"));
  auto e3 = d.wait_for(opened(p3, "creat"));
  REQUIRE(e1);
  REQUIRE(e2);
  REQUIRE(e3);
  CHECK((*e1)["evt.arg.flags"] == "O_WRONLY|O_CREAT");
  CHECK((*e2)["evt.arg.flags"] == "O_RDWR|O_CREAT");
  CHECK((*e2)["evt.arg.mode"] == "0640");
  CHECK((*e3)["evt.arg.flags"] == "O_WRONLY|O_CREAT|O_TRUNC");
}

TEST_CASE("--syscalls limits what is captured") {
  TempDir dir;
  touch(dir.path + "/f");
  Daemon d({"trace", "--json", "--syscalls", "open", "--pid", std::to_string(getpid())});
  REQUIRE(d.ready());
  CHECK(d.stderr_text().find("openat,") == std::string::npos);
  int fd = open((dir.path + "/f").c_str(), O_RDONLY);  // glibc: openat
  close(fd);
  int fd2 = int(syscall(SYS_open, (dir.path + "/f").c_str(), O_RDONLY));
  close(fd2);
  REQUIRE(d.wait_for(opened(dir.path + "/f", "open")));
  CHECK(d.all(opened(dir.path + "/f", "openat")).empty());
}
