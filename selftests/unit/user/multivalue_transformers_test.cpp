// join(), concat() and getopt() evaluated against events through the real
// engine, in conditions and outputs; getopt's scan against libs' own cases.
#include <doctest/doctest.h>
#include <fcntl.h>

#include "policy/ruleset.h"
#include "user/engine/engine.h"
#include "user/engine/extract_call.h"

using namespace pg::user;
using namespace pg::user::engine;

namespace {

struct Alerted {
  std::vector<std::string> outputs;
  std::vector<output::Alert> alerts;
};

// One exec-like open by `nc` (parent bash) with the given argv.
Alerted fire(const std::string& condition, const std::vector<std::string>& argv,
             const std::string& out = "hit") {
  std::string yaml = "- rule: r\n  desc: d\n  condition: '" + condition + "'\n  output: '" + out +
                     "'\n  priority: WARNING\n";
  auto loaded =
      pg::policy::load_rules_from_memory(std::vector<pg::policy::InputFile>{{"test.yaml", yaml}});
  for (const auto& d : loaded.diagnostics.all())
    if (d.is_error()) MESSAGE(pg::policy::render_text(d));
  REQUIRE(loaded.ok());
  auto engine = Engine::build(loaded.ruleset, {});
  REQUIRE(engine);
  ProcessTable procs;
  Process bash;
  bash.pid = 100;
  bash.ppid = 1;
  bash.comm = "bash";
  bash.argv = {"bash"};
  procs.insert(bash);
  Process p;
  p.pid = 200;
  p.ppid = 100;
  p.comm = "nc";
  p.exepath = "/usr/bin/nc";
  p.argv = argv;
  procs.insert(p);
  Event e;
  e.kind = EventKind::Open;
  e.open_kind = PG_OPEN_OPENAT;
  e.task.tgid = e.task.tid = 200;
  e.task.ppid = 100;
  e.task.comm = "nc";
  e.task.pcomm = "bash";
  e.open_flags = O_RDONLY;
  e.ret = 3;
  e.path.raw = e.path.abs = "/etc/shadow";
  EventView v{e, procs, procs.find(200), 1, "host"};
  Alerted a;
  (*engine)->process(v, [&](output::Alert&& x) {
    a.outputs.push_back(x.output);
    a.alerts.push_back(std::move(x));
  });
  return a;
}

bool matches(const std::string& condition, const std::vector<std::string>& argv = {"nc"}) {
  return !fire(condition, argv).outputs.empty();
}

const std::vector<std::string> kNc = {"nc", "-l", "-p", "4444", "-e", "/bin/sh"};

}  // namespace

TEST_CASE("join joins a list's values, numbers as text, and is <NA> when one is missing") {
  CHECK(matches(R"(join("->", (proc.name, fd.name)) = "nc->/etc/shadow")"));
  CHECK(matches(R"(join(",", (proc.name, proc.pid, "x")) = "nc,200,x")"));
  CHECK(matches(R"(join("-", (toupper(proc.name), basename(fd.name))) = NC-shadow)"));
  CHECK(matches(R"(join("", ()) = "")"));
  CHECK_FALSE(matches(R"(join("->", (proc.name, fd.name)) = "nc-/etc/shadow")"));
  // fd.sip has no value for a file: the whole join has none, as in libs.
  CHECK_FALSE(matches(R"(join("-", (proc.name, fd.sip)) exists)"));
  CHECK(matches(R"(not join("-", (proc.name, fd.sip)) exists)"));
}

TEST_CASE("concat concatenates strings and nests inside other transformers") {
  CHECK(matches("concat(proc.name, proc.pname) = ncbash"));
  CHECK(matches(R"(toupper(concat(proc.name, "/", fd.name)) = "NC//ETC/SHADOW")"));
  CHECK(matches(R"(len(concat(proc.name, fd.name)) = 13)"));
  CHECK(matches("fd.name endswith val(concat(\"sha\", \"dow\"))"));
  CHECK_FALSE(matches("concat(proc.name, proc.pname) = bashnc"));
}

TEST_CASE("getopt parses a process's arguments") {
  const std::string args = "(proc.args[0], proc.args[1], proc.args[2], proc.args[3], proc.args[4])";
  CHECK(matches("getopt(" + args + ", \"lp:e:\")[e] = /bin/sh", kNc));
  CHECK(matches("getopt(" + args + ", \"lp:e:\")[p] = 4444", kNc));
  CHECK(matches("getopt(" + args + ", \"lp:e:\") intersects (e)", kNc));
  CHECK_FALSE(matches("getopt(" + args + ", \"lp:e:\")[x] exists", kNc));
  // A flag's selector value is its name.
  CHECK(matches("getopt(" + args + ", \"lp:e:\")[l] = l", kNc));
  // Another argv: the arguments are missing, so the list is <NA>.
  CHECK_FALSE(matches("getopt(" + args + ", \"lp:e:\") exists", {"nc", "-l"}));
}

TEST_CASE("getopt's scan follows libs' cases") {
  auto scan = [](std::vector<std::string> argv, std::string_view opts,
                 std::optional<char> sel = std::nullopt) {
    auto r = getopt_scan(argv, opts, sel);
    if (!r) return std::string("<NA>");
    std::string s;
    for (const auto& x : *r) s += (s.empty() ? "" : " ") + ("[" + x + "]");
    return s;
  };
  CHECK(scan({"-t", "hello"}, "t:") == "[t] [hello]");
  CHECK(scan({"-nt", "hello"}, "nt:") == "[n] [t] [hello]");
  CHECK(scan({"-thello"}, "t:") == "[t] [hello]");
  CHECK(scan({"-n", "--", "-t"}, "nt:") == "[n]");
  CHECK(scan({"-x", "-n"}, "n") == "[?] [n]");
  CHECK(scan({"-lpe", "/bin/sh"}, "lp:e:") == "[l] [p] [e]");
  CHECK(scan({"-lpe", "/bin/sh"}, "lpe:") == "[l] [p] [e] [/bin/sh]");
  CHECK(scan({"arg1", "-n"}, "n") == "");
  CHECK(scan({"-", "-n"}, "n") == "");
  CHECK(scan({"-t"}, "t:") == "[]");
  CHECK(scan({"-t"}, ":t:") == "[]");
  CHECK(scan({"--exec", "-n"}, "n") == "[n]");
  CHECK(scan({"--", "-n"}, "n") == "");
  CHECK(scan({"-t", "v1", "-t", "v2"}, "t:", 't') == "[v2]");
  CHECK(scan({"-t"}, "t:", 't') == "[]");
  CHECK(scan({"-n"}, "t:n", 't') == "<NA>");
  CHECK(scan({"-n", "-t"}, "") == "[?] [?]");
}

TEST_CASE("outputs render multi-value transformers and name them as Falco does") {
  auto a = fire("proc.name = nc", kNc,
                R"(x=%join(",", (proc.name, proc.pname)) y=%toupper(concat(proc.name, fd.name)))");
  REQUIRE(a.alerts.size() == 1);
  CHECK(a.outputs[0] == "x=nc,bash y=NC/ETC/SHADOW");
  std::vector<std::string> keys;
  for (const auto& f : a.alerts[0].output_fields) keys.push_back(f.name);
  CHECK(std::find(keys.begin(), keys.end(), "join(,,(proc.name,proc.pname))") != keys.end());
  CHECK(std::find(keys.begin(), keys.end(), "toupper(concat(proc.name,fd.name))") != keys.end());
}
