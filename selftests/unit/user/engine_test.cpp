#include "user/engine/engine.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>

#include <ctime>

#include "policy/ruleset.h"
#include "selftests/common/falco_files.h"
#include "user/config/config.h"
#include "user/engine/dns.h"

using namespace pg::user;
using namespace pg::user::engine;

namespace {

struct Fixture {
  pg::policy::LoadResult loaded;
  std::unique_ptr<Engine> engine;
  ProcessTable procs;

  explicit Fixture(const std::string& yaml, EngineOptions opts = {})
      : loaded(pg::policy::load_rules_from_memory(
            std::vector<pg::policy::InputFile>{{"test.yaml", yaml}})) {
    for (const auto& d : loaded.diagnostics.all())
      if (d.is_error()) MESSAGE(pg::policy::render_text(d));
    REQUIRE(loaded.ok());
    auto e = Engine::build(loaded.ruleset, opts);
    REQUIRE(e);
    engine = std::move(*e);
    Process bash;
    bash.pid = 100;
    bash.ppid = 1;
    bash.comm = "bash";
    bash.exepath = "/usr/bin/bash";
    bash.argv = {"bash"};
    bash.sid = 100;  // the session leader
    procs.insert(bash);
    Process init;
    init.pid = 1;
    init.comm = "systemd";
    procs.insert(init);
  }

  std::vector<std::string> fire(const Event& e) {
    Process p;
    p.pid = e.task.tgid;
    p.ppid = e.task.ppid;
    p.comm = e.task.comm;
    p.exepath = "/usr/bin/" + e.task.comm;
    p.argv = {e.task.comm, "arg1"};
    p.sid = 100;
    p.env = std::string("HOME=/root\0HTTP_PROXY=http://proxy:3128\0", 40);
    procs.insert(p);
    EventView v{e, procs, procs.find(e.task.tgid), 1, "host"};
    std::vector<std::string> rules;
    engine->process(
        v, [&](pg::user::output::Alert&& a) { rules.push_back(a.rule + ": " + a.output); });
    return rules;
  }
};

Event open_event(const char* comm, const char* path, uint64_t flags = O_RDONLY, int64_t ret = 3) {
  Event e;
  e.kind = EventKind::Open;
  e.open_kind = PG_OPEN_OPENAT;
  e.task.tgid = e.task.tid = 200;
  e.task.ppid = 100;
  e.task.comm = comm;
  e.task.pcomm = "bash";  // the fixture's process 100, as the kernel reads it
  e.open_flags = flags;
  e.ret = ret;
  e.path.raw = path;
  e.path.abs = path;
  return e;
}

const char* kRule = R"(
- list: readers
  items: [cat, less]
- rule: r
  desc: d
  condition: %s
  output: "hit %%fd.name by %%proc.name parent=%%proc.pname"
  priority: WARNING
)";

std::string rule_with(const std::string& cond) {
  char buf[1024];
  snprintf(buf, sizeof(buf), kRule, cond.c_str());
  return buf;
}

bool matches(const std::string& cond, const Event& e) {
  Fixture f(rule_with(cond));
  return !f.fire(e).empty();
}

}  // namespace

TEST_CASE("operators on strings, paths and numbers") {
  Event e = open_event("cat", "/etc/shadow");
  CHECK(matches("fd.name = /etc/shadow", e));
  CHECK_FALSE(matches("fd.name != /etc/shadow", e));
  CHECK(matches("fd.name in (/etc/passwd, /etc/shadow)", e));
  CHECK(matches("proc.name in (readers)", e));
  CHECK(matches("fd.name startswith /etc/", e));
  CHECK(matches("fd.name endswith shadow", e));
  CHECK(matches("fd.name contains sha", e));
  CHECK(matches("fd.name icontains SHA", e));
  CHECK(matches("fd.name glob '/etc/sh*'", e));
  CHECK(matches("fd.name iglob '/ETC/SH*'", e));
  CHECK(matches("fd.name regex '^/etc/[a-z]+$'", e));
  CHECK_FALSE(matches("fd.name regex '^/var'", e));
  CHECK(matches("fd.name pmatch (/etc)", e));
  CHECK_FALSE(matches("fd.name pmatch (/et)", e));
  CHECK(matches("fd.directory = /etc and fd.filename = shadow", e));
  CHECK(matches("fd.num >= 0 and fd.num < 4 and fd.num = 3", e));
  CHECK(matches("evt.is_open_read = true and evt.is_open_write = false", e));
  CHECK(matches("proc.pname = bash and proc.aname[1] = bash and proc.aname[2] = systemd", e));
  CHECK(matches("proc.aname = systemd", e));  // any ancestor
  CHECK(matches("toupper(proc.name) = CAT and len(fd.name) = 11", e));
  CHECK(matches("basename(fd.name) = shadow", e));
  CHECK(matches("fd.name exists and not fd.sip exists", e));
  CHECK(matches("proc.cmdline = 'cat arg1' and proc.args = arg1", e));
  CHECK(matches("proc.env = 'HOME=/root HTTP_PROXY=http://proxy:3128'", e));
  CHECK(matches("proc.env icontains http_proxy and proc.env[HOME] = /root", e));
  CHECK(matches("proc.sid = 100 and proc.sname = bash", e));
  CHECK(matches("proc.env[HTTP_PROXY] = 'http://proxy:3128' and not proc.env[HOM] exists", e));
  CHECK(matches("evt.type in (open, openat) and evt.res = SUCCESS", e));
}

TEST_CASE("a missing value makes every comparison false, like Falco's <NA>") {
  Event e = open_event("cat", "/etc/shadow");
  e.path.abs.clear();
  e.path.incomplete = true;
  CHECK_FALSE(matches("fd.name = /etc/shadow", e));
  CHECK_FALSE(matches("fd.name != /etc/shadow", e));
  CHECK(matches("not fd.name = /etc/shadow", e));
  CHECK_FALSE(matches("fd.sport > 0", e));  // no socket on an open
}

TEST_CASE("failed opens have fd.num -1 and an error result") {
  Event e = open_event("cat", "/nope", O_RDONLY, -2);
  CHECK(matches("fd.num = -1 and evt.res startswith E and evt.failed = true", e));
}

TEST_CASE("rules are indexed by event type and rule_matching first stops at one") {
  std::string two = R"(
- rule: a
  desc: d
  condition: evt.type = openat and fd.name = /x
  output: a
  priority: WARNING
- rule: b
  desc: d
  condition: fd.name = /x
  output: b
  priority: WARNING
- rule: c
  desc: d
  condition: evt.type = connect
  output: c
  priority: WARNING
)";
  Event e = open_event("cat", "/x");
  {
    Fixture f(two);
    auto hits = f.fire(e);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0] == "a: a");
    CHECK(f.engine->needs_all_types());  // rule b has no evt.type
  }
  {
    EngineOptions all;
    all.all_matches = true;
    Fixture f(two, all);
    CHECK(f.fire(e).size() == 2);
  }
  {
    EngineOptions crit;
    crit.min_priority = pg::user::output::Priority::Critical;
    Fixture f(two, crit);
    CHECK(f.fire(e).empty());
    CHECK(f.engine->rule_count() == 0);
  }
}

TEST_CASE("alerts render the output with values and keep typed output_fields") {
  Fixture f(rule_with("fd.name = /etc/shadow"));
  Event e = open_event("cat", "/etc/shadow");
  EventView v{e, f.procs, nullptr, 1, "host"};
  const auto& r = f.engine->rules().at(0);
  auto a = f.engine->make_alert(r, v);
  CHECK(a.output == "hit /etc/shadow by cat parent=bash");
  REQUIRE(a.output_fields.size() == 3);
  CHECK(a.output_fields[0].name == "fd.name");
  CHECK(std::get<std::string>(a.output_fields[0].value) == "/etc/shadow");
  CHECK(a.hostname == "host");
}

TEST_CASE("the default ruleset loads without warnings and compiles") {
  auto files = pg::user::config::expand_rules_paths({"rules"});
  REQUIRE(files);
  auto loaded = pg::policy::load_rules(*files);
  for (const auto& d : loaded.diagnostics.all()) MESSAGE(pg::policy::render_text(d));
  CHECK(loaded.diagnostics.all().empty());
  auto e = Engine::build(loaded.ruleset, {});
  REQUIRE(e);
  CHECK((*e)->rule_count() == loaded.ruleset.rules.size());
  CHECK_FALSE((*e)->needs_all_types());  // every default rule names its event types
}

TEST_CASE("proc.env of a process whose exec did not carry the environment is <NA>") {
  Fixture f(rule_with("proc.env contains HTTP_PROXY"));
  Event e = open_event("curl", "/tmp/x");
  CHECK(f.fire(e).size() == 1);
  Fixture g(rule_with("proc.env contains HTTP_PROXY"));
  Process p;
  p.pid = e.task.tgid;
  p.comm = "curl";
  p.env = std::string("HTTP_PROXY=x\0", 13);
  p.env_known = false;
  g.procs.insert(p);
  EventView v{e, g.procs, g.procs.find(e.task.tgid), 1, "host"};
  size_t alerts = 0;
  g.engine->process(v, [&](pg::user::output::Alert&&) { ++alerts; });
  CHECK(alerts == 0);  // unknown, whatever the table held before
}

TEST_CASE("an engine knows whether its rules or appended outputs read the environment") {
  auto reads = [](const std::string& yaml, EngineOptions opts = {}) {
    Fixture f(yaml, std::move(opts));
    return f.engine->reads_environment();
  };
  CHECK_FALSE(reads(rule_with("fd.name = /etc/shadow")));
  CHECK(reads(rule_with("proc.env contains HTTP_PROXY")));
  CHECK(reads(rule_with("proc.env[HOME] = /root")));
  CHECK(reads(R"(
- rule: env in output
  desc: d
  condition: evt.type = open
  output: opened with %proc.env
  priority: WARNING
)"));
  EngineOptions opts;
  opts.extra_outputs.push_back({"", "", {}, "env=%proc.env", {}, {}, false});
  CHECK(reads(rule_with("fd.name = /etc/shadow"), opts));
  // A rule below the minimum priority is never evaluated.
  EngineOptions quiet;
  quiet.min_priority = pg::user::output::Priority::Critical;
  CHECK_FALSE(reads(rule_with("proc.env contains HTTP_PROXY"), quiet));
}

TEST_CASE("Falco's official syscall rule files compile into the engine" * PG_NEEDS_FALCO_FILES) {
  std::vector<std::string> files{pg::test::falco_file("falco_rules.yaml"),
                                 pg::test::falco_file("falco-incubating_rules.yaml"),
                                 pg::test::falco_file("falco-sandbox_rules.yaml")};
  auto loaded = pg::policy::load_rules(files);
  REQUIRE(loaded.ok());
  auto e = Engine::build(loaded.ruleset, {});
  REQUIRE(e);
  CHECK((*e)->rule_count() > 50);
}

TEST_CASE("descriptor fields of a resolved socket: either end, networks, and numeric arguments") {
  // sendto on a UDP socket 10.1.2.3:5000 to 8.8.8.8:53, as the kernel
  // resolved it.
  Event e;
  e.kind = EventKind::Args;
  e.args_kind = PG_AK_SENDTO;
  e.task.tgid = e.task.tid = 200;
  e.task.ppid = 100;
  e.task.comm = "dig";
  e.task.pcomm = "bash";
  e.ret = 30;
  e.args = {4, 0, 30, 0, 0, 0};
  e.fd = 4;
  e.fd_mode = 0140777;  // S_IFSOCK
  e.sock_family = AF_INET;
  e.sock_type = SOCK_DGRAM;
  e.fd_flags = PG_FDI_DESTINATION;
  e.local = {AF_INET, 5000, {10, 1, 2, 3}};
  e.remote = {AF_INET, 53, {8, 8, 8, 8}};
  CHECK(matches("fd.type = ipv4 and fd.typechar = 4 and fd.l4proto = udp", e));
  CHECK(matches("fd.name = '10.1.2.3:5000->8.8.8.8:53'", e));
  CHECK(matches("fd.sip = 8.8.8.8 and fd.sport = 53 and fd.cport = 5000", e));
  CHECK(matches("fd.connected = false", e));
  CHECK(matches("fd.ip = 8.8.8.8 and fd.ip = 10.1.2.3 and not fd.ip = 1.1.1.1", e));
  CHECK(matches("fd.net = '10.0.0.0/8' and fd.net != '127.0.0.0/8'", e));
  CHECK(matches("fd.snet = '8.8.0.0/16' and not fd.snet in ('10.0.0.0/8', '192.168.0.0/16')", e));
  CHECK(matches("fd.cnet in ('10.0.0.0/8')", e));
  CHECK(matches("fd.rnet = '8.8.8.0/24' and fd.lnet = '10.1.0.0/16'", e));
  CHECK(matches("fd.port = 53 and fd.port = 5000 and fd.port in (53, 123)", e));
  CHECK(matches("not fd.port in (80, 443) and not fd.port = 80", e));
  CHECK(matches("evt.arg.fd = 4 and evt.arg.size = 30", e));  // numbers as text
  // The kernel says whether this destination is new for the descriptor.
  CHECK(matches("fd.name_changed = false", e));
  e.fd_flags |= PG_FDI_NAME_CHANGED;
  CHECK(matches("fd.name_changed = true", e));
  // Loopback on both ends: every end is in 127.0.0.0/8.
  e.local.addr = {127, 0, 0, 1};
  e.remote.addr = {127, 0, 0, 1};
  CHECK_FALSE(matches("fd.net != '127.0.0.0/8'", e));
  // A descriptor that was not open: no fd.* at all.
  e.fd_mode = 0;
  CHECK_FALSE(matches("fd.type exists", e));
  CHECK_FALSE(matches("fd.name_changed exists", e));
}

TEST_CASE("fd.sip.name: the address is every watched name that resolved to it") {
  // The rule's names resolve forwards in the background (localhost from
  // /etc/hosts); the event's server address is compared with the result.
  Fixture f(rule_with("fd.sip.name = localhost"));
  pg::user::engine::DnsNames::instance().wait_resolved();
  Event e;
  e.kind = EventKind::Connect;
  e.task.tgid = e.task.tid = 200;
  e.task.ppid = 100;
  e.task.comm = "curl";
  e.remote = {AF_INET, 80, {127, 0, 0, 1}};
  e.local = {AF_INET, 40000, {127, 0, 0, 1}};
  CHECK(f.fire(e).size() == 1);
  e.remote.addr = {10, 0, 0, 1};
  CHECK(f.fire(e).empty());
}

TEST_CASE("string comparator modifiers: oneof is exactly one, anyof at least one, allof every") {
  Event e = open_event("cat", "/etc/shadow");
  CHECK(matches("fd.name startswith oneof (/etc, /var)", e));
  CHECK_FALSE(matches("fd.name startswith oneof (/etc, /etc/sh)", e));  // two hold
  CHECK_FALSE(matches("fd.name startswith oneof (/usr, /var)", e));
  CHECK(matches("fd.name startswith anyof (/etc, /etc/sh)", e));
  CHECK_FALSE(matches("fd.name startswith anyof (/usr, /var)", e));
  CHECK(matches("fd.name startswith allof (/etc, /etc/sh)", e));
  CHECK_FALSE(matches("fd.name startswith allof (/etc, /var)", e));
  CHECK(matches("fd.name != allof (/etc/passwd, /etc/group)", e));
  CHECK(matches("fd.name = anyof (/etc/passwd, /etc/shadow)", e));
  CHECK(matches("fd.name contains allof (etc, shad)", e));
  CHECK(matches("fd.name icontains oneof (SHADOW, PASSWD)", e));
  CHECK(matches("fd.name endswith anyof (dow, wd)", e));
  CHECK(matches("fd.name glob oneof ('/etc/*', '/var/*')", e));
  CHECK(matches("fd.name iglob allof ('/ETC/*', '*DOW')", e));
  CHECK(matches("fd.name regex anyof ('^/var', 'sha.ow$')", e));
  CHECK(matches("proc.name startswith anyof (readers)", e));  // list names expand
  CHECK(matches("fd.num = anyof (2, 3)", e));
  CHECK_FALSE(matches("fd.name startswith anyof ()", e));  // empty: false, as libs
  CHECK_FALSE(matches("fd.name != allof ()", e));
  CHECK(matches("not fd.name startswith oneof (/etc, /etc/sh)", e));
  // proc.aname holds every ancestor (bash, systemd): one ancestor must
  // satisfy the whole modified comparison, as in libs.
  CHECK(matches("proc.aname startswith allof (sys, syst)", e));
  CHECK_FALSE(matches("proc.aname startswith allof (bas, sys)", e));
  CHECK(matches("proc.aname startswith anyof (bas, zzz)", e));
}

TEST_CASE("a modified comparison on a field without a value is false") {
  Event e = open_event("cat", "/etc/shadow");
  e.path.abs.clear();
  e.path.incomplete = true;
  CHECK_FALSE(matches("fd.name != allof (/a, /b)", e));
  CHECK_FALSE(matches("fd.name startswith anyof (/, /etc)", e));
  CHECK(matches("not fd.name != anyof (/a)", e));
}

TEST_CASE("exceptions with modifier comps filter alerts") {
  const std::string rules = R"(
- list: skipped_dirs
  items: [/etc/ssl, /etc/pki]
- rule: r
  desc: d
  condition: evt.type = openat and fd.name startswith /etc
  output: "hit %fd.name"
  priority: WARNING
  exceptions:
    - name: dirs
      fields: fd.name
      comps: startswith oneof
      values: [skipped_dirs, /etc/ss]
    - name: pairs
      fields: [proc.name, fd.name]
      comps: [=, endswith anyof]
      values:
        - [cat, [.crt, .pem]]
)";
  Fixture f(rules);
  CHECK(f.fire(open_event("cat", "/etc/shadow")).size() == 1);
  // Exactly one of the prefixes: excepted.
  CHECK(f.fire(open_event("cat", "/etc/pki/x")).empty());
  // /etc/ssl/x starts with both /etc/ssl and /etc/ss: oneof is false, so it alerts.
  CHECK(f.fire(open_event("cat", "/etc/ssl/x")).size() == 1);
  CHECK(f.fire(open_event("cat", "/etc/x.pem")).empty());
  CHECK(f.fire(open_event("vi", "/etc/x.pem")).size() == 1);
}

TEST_CASE("derived fields: time renderings, argument counts, session leader, user database") {
  Event e = open_event("cat", "/etc/shadow");
  e.time_ns = 1'700'000'000'123'456'789;  // 2023-11-14 22:13:20 UTC
  e.task.uid = 0;
  time_t secs = 1'700'000'000;
  struct tm tm {};
  localtime_r(&secs, &tm);
  char date[32], clock[16];
  strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
  strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
  CHECK(matches(std::string("evt.time.s = '") + clock + "'", e));
  CHECK(matches(std::string("evt.datetime = '") + date + ".123456789'", e));
  CHECK(matches(std::string("evt.datetime.s = '") + date + "'", e));
  CHECK(matches("evt.type.is[openat] = 1 and evt.type.is[execve] = 0", e));
  // The fixture's process: argv {cat, arg1}, session 100 led by bash.
  CHECK(matches("proc.cmdnargs = 1 and proc.cmdlenargs = 4", e));
  CHECK(matches("proc.exeline = 'cat arg1'", e));
  CHECK(matches("proc.is_sid_leader = false", e));
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[4096];
  REQUIRE(getpwuid_r(0, &pw, buf, sizeof(buf), &res) == 0);
  REQUIRE(res);
  CHECK(matches(
      std::string("user.homedir = '") + pw.pw_dir + "' and user.shell = '" + pw.pw_shell + "'", e));
}
