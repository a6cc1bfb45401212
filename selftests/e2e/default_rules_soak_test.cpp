// The default ruleset's noise budget: a busy benign node for a minute or
// two — a package built, installed and removed with dpkg and apt, a C
// build, redis-benchmark, a container's whole lifecycle, cron-style jobs,
// log rotation, logins with su and runuser, ssh to localhost — must raise
// no alert at all. Parts whose program is missing are skipped with a
// message (redis, sshd); the rest always run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>

#include "default_rules.h"

using namespace pg::e2e;
using namespace pg::e2e::defaults;

namespace {

bool have(const char* tool) { return sh(std::string("command -v ") + tool + " >/dev/null") == 0; }

// A small Debian package with a maintainer script and a program in /usr/bin.
void make_package(const std::string& t) {
  const std::string root = t + "/deb";
  REQUIRE(sh("mkdir -p " + root + "/DEBIAN " + root + "/usr/bin " + root +
             "/usr/share/pg-soak-hello " + root + "/etc/pg-soak-hello") == 0);
  write_file(root + "/DEBIAN/control",
             "Package: pg-soak-hello\nVersion: 1.0\nArchitecture: all\n"
             "Maintainer: Peregrine tests <root@localhost>\nSection: misc\nPriority: optional\n"
             "Description: Peregrine noise-soak package\n a program, data and a conffile\n");
  write_file(root + "/DEBIAN/conffiles", "/etc/pg-soak-hello/hello.conf\n");
  write_file(root + "/DEBIAN/postinst",
             "#!/bin/sh\nset -e\nmkdir -p /var/lib/pg-soak-hello\n"
             "echo configured > /var/lib/pg-soak-hello/state\n",
             true);
  write_file(root + "/DEBIAN/postrm", "#!/bin/sh\nset -e\nrm -rf /var/lib/pg-soak-hello\n", true);
  write_file(root + "/usr/bin/pg-soak-hello", "#!/bin/sh\necho hello\n", true);
  write_file(root + "/usr/share/pg-soak-hello/README", "soak\n");
  write_file(root + "/etc/pg-soak-hello/hello.conf", "greeting=hello\n");
  REQUIRE(sh("dpkg-deb --root-owner-group --build " + root + " " + t +
             "/pg-soak-hello.deb >/dev/null") == 0);
}

// A few C files and a Makefile.
void make_project(const std::string& t) {
  const std::string d = t + "/proj";
  REQUIRE(sh("mkdir -p " + d) == 0);
  for (int i = 0; i < 8; ++i)
    write_file(d + "/f" + std::to_string(i) + ".c",
               "#include <stdio.h>\n#include <string.h>\nint f" + std::to_string(i) +
                   "(int x) { char b[32]; snprintf(b, sizeof b, \"%d\", x); return (int)strlen(b); "
                   "}\n");
  write_file(d + "/main.c", "int main(void) { return 0; }\n");
  write_file(d + "/Makefile",
             "SRCS := $(wildcard *.c)\nprog: $(SRCS:.c=.o)\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) "
             "-O1 -c $< -o $@\nclean:\n\trm -f *.o prog\n");
}

void make_jobs(const std::string& t) {
  REQUIRE(sh("mkdir -p " + t + "/cron.hourly " + t + "/logs") == 0);
  write_file(t + "/cron.hourly/10-stats",
             "#!/bin/sh\ndf -h >/dev/null\nps aux >/dev/null\nuptime >> " + t + "/logs/app.log\n",
             true);
  write_file(t + "/cron.hourly/20-cleanup",
             "#!/bin/sh\nfind " + t + "/logs -name '*.tmp' -mtime +1 -delete\n", true);
  write_file(t + "/cron.hourly/30-report",
             "#!/bin/bash\nwho >/dev/null; last -n 3 >/dev/null 2>&1 || true\n", true);
  write_file(t + "/logrotate.conf", t + "/logs/app.log {\n  rotate 2\n  size 1\n  compress\n  "
                                        "missingok\n  create 0640 root root\n  postrotate\n    "
                                        "echo rotated >/dev/null\n  endscript\n}\n");
}

}  // namespace

TEST_CASE("default rules: a busy benign node raises no alert (noise soak)") {
  TempDir dir;
  const std::string t = dir.path, tag = std::to_string(getpid());
  const bool tools = have("dpkg-deb") && have("apt-get") && have("gcc") && have("make");
  REQUIRE_MESSAGE(tools, "dpkg-deb, apt-get, gcc and make are needed");
  REQUIRE_MESSAGE(have("logrotate"), "logrotate is missing: run make deps");
  make_package(t);
  make_project(t);
  make_jobs(t);
  ensure_busybox_image();
  sh("dpkg -r pg-soak-hello >/dev/null 2>&1");
  const std::string ctr = "pg-e2e-soak-" + tag;

  auto daemon = start_daemon(daemon_args());
  Daemon& d = *daemon;
  const auto start = std::chrono::steady_clock::now();

  // Packages: apt installs and removes the local .deb, dpkg does it again.
  CHECK(sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " + t +
           "/pg-soak-hello.deb >/dev/null 2>&1") == 0);
  CHECK(sh("pg-soak-hello >/dev/null") == 0);
  CHECK(sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq --purge pg-soak-hello "
           ">/dev/null 2>&1") == 0);
  CHECK(sh("dpkg -i " + t +
           "/pg-soak-hello.deb >/dev/null 2>&1 && dpkg -P pg-soak-hello "
           ">/dev/null 2>&1") == 0);
  // A C build, twice (the second from clean).
  CHECK(sh("make -s -j2 -C " + t + "/proj prog >/dev/null 2>&1 && make -s -C " + t +
           "/proj clean && make -s -j2 -C " + t + "/proj prog >/dev/null 2>&1 && " + t +
           "/proj/prog") == 0);
  // A container's life: create, start, exec, stop, remove.
  CHECK(sh(kPodman +
           " create --network none --ulimit nofile=1024:1024 --ulimit "
           "nproc=1024:1024 --name " +
           ctr + " " + kBusyboxImage + " sleep 600 >/dev/null") == 0);
  CHECK(sh(kPodman + " start " + ctr + " >/dev/null") == 0);
  CHECK(sh(kPodman + " exec " + ctr +
           " sh -c '/bin/mkdir -p /tmp; /bin/ls / >/dev/null; /bin/cat /etc/hostname "
           ">/dev/null; echo hi > /tmp/x; /bin/rm /tmp/x'") == 0);
  CHECK(sh(kPodman + " stop -t 0 " + ctr + " >/dev/null 2>&1") == 0);
  CHECK(sh(kPodman + " rm -f " + ctr + " >/dev/null") == 0);
  // Cron-style jobs and log rotation.
  CHECK(sh("run-parts " + t + "/cron.hourly") == 0);
  CHECK(sh("logrotate -f -s " + t + "/logrotate.state " + t + "/logrotate.conf") == 0);
  CHECK(sh("echo more >> " + t + "/logs/app.log && logrotate -f -s " + t + "/logrotate.state " + t +
           "/logrotate.conf") == 0);
  // Logins.
  CHECK(sh("su - nobody -s /bin/sh -c true") == 0);
  CHECK(sh("runuser -u nobody -- /bin/true") == 0);
  CHECK(sh("su root -c 'id >/dev/null'") == 0);
  // A short redis-benchmark against a private server, when redis is here.
  if (have("redis-server") && have("redis-benchmark")) {
    CHECK(sh("redis-server --port 6391 --bind 127.0.0.1 --save '' --appendonly no "
             "--daemonize yes --pidfile " +
             t +
             "/redis.pid >/dev/null && sleep 0.5 && redis-benchmark -p 6391 -q -n 20000 "
             "-t set,get >/dev/null; kill $(cat " +
             t + "/redis.pid)") == 0);
  } else {
    MESSAGE("soak: redis-server/redis-benchmark not installed; that part skipped");
  }
  // ssh to localhost, when an sshd is installed and answers.
  if (have("sshd") && sh("ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o "
                         "UserKnownHostsFile=/dev/null -o ConnectTimeout=2 localhost true "
                         ">/dev/null 2>&1") == 0) {
    CHECK(sh("ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
             "localhost 'uname -a' >/dev/null 2>&1") == 0);
  } else {
    MESSAGE("soak: no sshd answering on localhost; the ssh part skipped");
  }

  // The barrier: one known detection, so every earlier alert is out.
  REQUIRE(sh("mkdir -p " + t + "/barrier && find " + t + "/barrier -name id_rsa") == 0);
  auto is_barrier = [&](const Json& j) {
    return j.value("rule", "") == "Credentials searched for with find or grep" &&
           j.value("output", "").find(t + "/barrier") != std::string::npos;
  };
  REQUIRE(d.wait_for(is_barrier, 20s));
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  int noise = 0;
  for (const auto& j : alerts_in(d.stdout_lines())) {
    if (is_barrier(j)) break;
    ++noise;
    CHECK_MESSAGE(
        false, "benign activity raised '" << j.value("rule", "") << "': " << j.value("output", ""));
  }
  MESSAGE("soak: " << secs.count() << " s of benign activity, " << noise << " alerts");
  CHECK(d.stop() == 0);
  sh(kPodman + " rm -f " + ctr + " >/dev/null 2>&1");
  sh("dpkg -P pg-soak-hello >/dev/null 2>&1");
}
