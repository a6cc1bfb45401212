// HOST_ROOT and the node name: how the daemon finds the host's files and
// name when it runs in a container.
#include "user/host.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "user/cgroup.h"
#include "user/procfs.h"

using namespace pg::user;
namespace fs = std::filesystem;

namespace {

// Sets (or unsets, for nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Fixture {
  fs::path root = fs::temp_directory_path() / ("pg-host-" + std::to_string(::getpid()));
  Fixture() {
    fs::remove_all(root);
    fs::create_directories(root / "etc");
  }
  ~Fixture() { fs::remove_all(root); }
  void write(const fs::path& rel, const std::string& text) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
};

}  // namespace

TEST_CASE("host paths: HOST_ROOT prefixes every host path; unset, empty or / leaves them") {
  {
    ScopedEnv env("HOST_ROOT", std::nullopt);
    CHECK(host_root().empty());
    CHECK(host_path("/proc/1/cgroup") == "/proc/1/cgroup");
  }
  for (const char* none : {"", "/", "//"}) {
    ScopedEnv env("HOST_ROOT", none);
    CHECK(host_path("/etc/passwd") == "/etc/passwd");
  }
  ScopedEnv env("HOST_ROOT", "/host/");
  CHECK(host_root() == "/host");
  CHECK(host_path("/proc") == "/host/proc");
  CHECK(host_path("/run/podman/podman.sock") == "/host/run/podman/podman.sock");
  CHECK(host_path_under("/h", "proc") == "/h/proc");
  CHECK(host_path_under("", "/proc") == "/proc");
}

TEST_CASE("alert hostname: PEREGRINE_HOSTNAME, then FALCO_HOSTNAME, then the kernel's name") {
  char buf[256] = {};
  REQUIRE(gethostname(buf, sizeof buf - 1) == 0);
  {
    ScopedEnv a("PEREGRINE_HOSTNAME", std::nullopt), b("FALCO_HOSTNAME", std::nullopt);
    CHECK(node_hostname() == buf);
  }
  {
    ScopedEnv a("PEREGRINE_HOSTNAME", std::nullopt), b("FALCO_HOSTNAME", "node-x");
    CHECK(node_hostname() == "node-x");
  }
  {
    ScopedEnv a("PEREGRINE_HOSTNAME", "node-p"), b("FALCO_HOSTNAME", "node-x");
    CHECK(node_hostname() == "node-p");
  }
  {
    ScopedEnv a("PEREGRINE_HOSTNAME", ""), b("FALCO_HOSTNAME", "");  // empty: not set
    CHECK(node_hostname() == buf);
  }
}

TEST_CASE("user and group names come from HOST_ROOT/etc when it is set, from NSS otherwise") {
  Fixture f;
  f.write("etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\nnodeuser:x:3999421:3999421::/home/n:/bin/sh\n"
          "dup:x:3999421:1::/:/bin/false\n");
  f.write("etc/group", "root:x:0:\nnodegroup:x:4343:nodeuser\n");
  {
    ScopedEnv env("HOST_ROOT", f.root.string());
    CHECK(host_user_name(3999421) == "nodeuser");  // the first entry of a uid wins
    CHECK(host_user_name(0) == "root");
    CHECK_FALSE(host_user_name(65000));
    CHECK(host_group_name(4343) == "nodegroup");
    CHECK_FALSE(host_group_name(3999421));
    auto users = host_users();
    REQUIRE(users.size() == 3);
    CHECK(users[1] == std::pair<uint32_t, std::string>{3999421, "nodeuser"});
  }
  {
    ScopedEnv env("HOST_ROOT", (f.root / "missing").string());  // no database: no names
    CHECK_FALSE(host_user_name(0));
    CHECK(host_users().empty());
  }
  ScopedEnv env("HOST_ROOT", std::nullopt);
  CHECK(host_user_name(0) == "root");  // this machine's own database
  CHECK_FALSE(host_user_name(3999421));
  CHECK(host_group_name(0) == "root");
}

TEST_CASE("with HOST_ROOT, processes are read from HOST_ROOT/proc and cgroups through pid 1") {
  Fixture f;
  f.write("proc/77/stat", "77 (hostd) S 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 900 0 0\n");
  f.write("proc/77/status", "Uid:\t5\t5\t5\t5\nGid:\t6\t6\t6\t6\n");
  f.write("proc/77/cgroup", "0::/system.slice/hostd.service\n");
  f.write("proc/1/mountinfo",
          "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n");
  const fs::path cg = f.root / "proc/1/root/sys/fs/cgroup";
  fs::create_directories(cg / "system.slice/hostd.service");
  f.write("proc/1/root/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
  struct stat sb {};
  REQUIRE(::stat((cg / "system.slice/hostd.service").c_str(), &sb) == 0);

  ScopedEnv env("HOST_ROOT", f.root.string());
  CHECK(cgroup2_root_for(host_root()) == cg.string());
  ProcessTable t;
  CHECK(ProcFs(host_path("/proc"), cg).seed(t) == 1);
  ProcessTable t2;
  CHECK(ProcFs().seed(t2) == 1);  // the default procfs is the host's
  const Process* p = t.find(77);
  REQUIRE(p);
  CHECK(p->comm == "hostd");
  CHECK(p->uid == 5);
  CHECK(p->cgroup_id == sb.st_ino);

  CgroupMap map(cg);
  REQUIRE(map.learn_from_process(sb.st_ino, 77));  // reads HOST_ROOT/proc/77/cgroup
  CHECK(*map.path(sb.st_ino) == "/system.slice/hostd.service");

  // The host's tree bound under HOST_ROOT comes first.
  f.write("sys/fs/cgroup/cgroup.controllers", "cpu\n");
  CHECK(cgroup2_root_for(host_root()) == (f.root / "sys/fs/cgroup").string());
  // Neither reachable: our own mount is the answer.
  fs::remove_all(f.root / "proc/1/root");
  fs::remove_all(f.root / "sys");
  CHECK(cgroup2_root_for(host_root()) == cgroup2_root_for(""));
}
