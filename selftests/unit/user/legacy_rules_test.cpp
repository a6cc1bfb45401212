// Rule files in the shape falcosecurity/rules 1.0.x shipped (2023; a short
// test copy in selftests/data/legacy_rules/) still load, with warnings at
// most, and their rules fire: `%container.info` expands to the container
// fields, `evt.dir=<` is accepted (and flagged as deprecated).
#include <doctest/doctest.h>
#include <fcntl.h>

#include "policy/ruleset.h"
#include "user/engine/engine.h"

using namespace pg::user;
using namespace pg::user::engine;
namespace pp = pg::policy;

namespace {

const char* kFile = "selftests/data/legacy_rules/falco_rules_1_0.yaml";

bool has_warning(const pp::LoadResult& r, pp::Code c, std::string_view needle) {
  for (const auto& d : r.diagnostics.all())
    if (d.code == c && d.message.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("falcosecurity/rules 1.0 style file loads with deprecation warnings only") {
  std::vector<std::string> p{kFile};
  auto r = pp::load_rules(p);
  for (const auto& d : r.diagnostics.all()) MESSAGE(pp::render_text(d));
  REQUIRE(r.ok());
  CHECK(r.ruleset.rules.size() == 3);
  CHECK(has_warning(r, pp::Code::DeprecatedItem, "%container.info"));
  CHECK(has_warning(r, pp::Code::DeprecatedItem, "'evt.dir'"));
  const pp::Rule* shell = r.ruleset.find("Terminal shell in container");
  REQUIRE(shell);
  CHECK(shell->event_types.names == std::vector<std::string>{"execve", "execveat"});
  // The expansion: container_id=%container.id container_name=%container.name.
  std::string fields;
  for (const auto& s : shell->output.segments)
    if (s.is_field) fields += pp::to_string(s.field) + " ";
  CHECK(fields.find("container.id container.name") != std::string::npos);
  CHECK(fields.find("container.info") == std::string::npos);
}

TEST_CASE("a rule of the 1.0 style file fires, printing the expanded container fields") {
  std::vector<std::string> p{kFile};
  auto r = pp::load_rules(p);
  REQUIRE(r.ok());
  auto e = Engine::build(r.ruleset, {});
  REQUIRE(e);
  ProcessTable procs;
  Process p1;
  p1.pid = 300;
  p1.ppid = 1;
  p1.comm = "python3";
  p1.exepath = "/usr/bin/python3";
  p1.argv = {"python3", "steal.py"};
  procs.insert(p1);
  Event ev;
  ev.kind = EventKind::Open;
  ev.open_kind = PG_OPEN_OPENAT;
  ev.task.tgid = ev.task.tid = 300;
  ev.task.ppid = 1;
  ev.task.comm = "python3";
  ev.open_flags = O_RDONLY;
  ev.ret = 3;
  ev.path.raw = ev.path.abs = "/etc/shadow";
  EventView v{ev, procs, procs.find(300), 1, "host"};
  std::vector<std::string> out;
  (*e)->process(v, [&](output::Alert&& a) { out.push_back(a.rule + ": " + a.output); });
  REQUIRE(out.size() == 1);
  CHECK(out[0].starts_with("Read sensitive file untrusted: "));
  // No cgroup map in this test, so the container is unknown (<NA>).
  CHECK(out[0].find("file=/etc/shadow container_id=<NA> container_name=<NA>") != std::string::npos);

  // A trusted reader (a list that includes lists) is excepted.
  ev.task.comm = "sshd";
  p1.comm = "sshd";
  procs.insert(p1);
  out.clear();
  EventView v2{ev, procs, procs.find(300), 1, "host"};
  (*e)->process(v2, [&](output::Alert&& a) { out.push_back(a.rule); });
  CHECK(out.empty());
}
