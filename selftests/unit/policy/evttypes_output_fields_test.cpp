// Event-type sets, output format parsing and the field registry.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "helpers.h"
#include "policy/evttypes.h"
#include "policy/fields.h"
#include "policy/output_format.h"
#include "policy/parser.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {
EventTypeSet types(const std::string& c) {
  auto n = parse_condition(c);
  REQUIRE(n.has_value());
  return compute_event_types(*n);
}
std::string names(const EventTypeSet& s) {
  if (s.all) return "all";
  std::string out;
  for (const auto& n : s.names) out += (out.empty() ? "" : ",") + n;
  return out;
}
}  // namespace

TEST_CASE("event types follow and/or/not like Falco") {
  CHECK(names(types("evt.type = open")) == "open");
  CHECK(names(types("evt.type in (open, openat) and proc.name = a")) == "open,openat");
  CHECK(names(types("evt.type = open or evt.type = close")) == "close,open");
  CHECK(names(types("evt.type in (open, close) and evt.type in (close, read)")) == "close");
  CHECK(names(types("evt.type = open and not evt.type = open")) == "");
  CHECK(names(types("proc.name = a")) == "all");
  CHECK(names(types("evt.type = open or proc.name = a")) == "all");
  CHECK(names(types("not proc.name = a")) == "all");
  CHECK(names(types("not (evt.type = open and proc.name = a)")) == "all");
  CHECK(names(types("not not evt.type = open")) == "open");
  CHECK(names(types("evt.type = open and evt.dir = <")) == "open");
  CHECK(names(types("evt.type = execve and not evt.type != execve")) == "execve");
  auto ne = types("evt.type != open");
  CHECK_FALSE(ne.all);
  CHECK(std::find(ne.names.begin(), ne.names.end(), "open") == ne.names.end());
  CHECK(std::find(ne.names.begin(), ne.names.end(), "close") != ne.names.end());
  CHECK(names(types("evt.type = mysterious")) == "mysterious");
  CHECK(is_known_event_type("openat2"));
  CHECK(is_known_event_type("procexit"));
  CHECK_FALSE(is_known_event_type("opne"));
}

TEST_CASE("output formats parse into literal and field segments") {
  auto o = parse_output(
      "File %fd.name opened by %user.name (%proc.aname[2], %tolower(proc.name)) 100% done.");
  REQUIRE(o.has_value());
  std::vector<std::string> fields;
  for (const auto& s : o->segments)
    if (s.is_field) fields.push_back(to_string(s.field));
  CHECK(fields ==
        std::vector<std::string>{"fd.name", "user.name", "proc.aname[2]", "tolower(proc.name)"});
  CHECK_FALSE(o->segments.front().is_field);
  CHECK(o->segments.front().text == "File ");
  CHECK(o->segments.back().text == ") 100% done.");
  auto dot = parse_output("by %proc.name.");
  REQUIRE(dot.has_value());
  CHECK(dot->segments.size() == 3);
  CHECK(to_string(dot->segments[1].field) == "proc.name");
  CHECK_FALSE(parse_output("%proc.aname[2").has_value());
  CHECK_FALSE(parse_output("%tolower(proc.name").has_value());
  CHECK(parse_output("").has_value());
}

TEST_CASE("output fields are resolved with ids at load time") {
  auto r = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n"
      "  output: '%evt.arg.flags %jevt.value[/x]'\n  priority: INFO\n");
  CHECK(r.diagnostics.has(Code::ErrCompileOutput));  // jevt.* is not a syscall field
  auto ok = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n"
      "  output: '%evt.arg.flags %proc.aname[1]'\n  priority: INFO\n");
  REQUIRE(ok.ok());
  for (const auto& s : ok.ruleset.rules.at(0).output.segments)
    if (s.is_field) CHECK(s.field.field_id >= 0);
}

TEST_CASE("field registry: unique names, descriptions, types and argument forms") {
  const auto& reg = FieldRegistry::instance();
  std::set<std::string_view> seen;
  for (const auto& f : reg.all()) {
    CAPTURE(f.name);
    CHECK(seen.insert(f.name).second);
    CHECK_FALSE(f.desc.empty());
    CHECK(f.sources != 0);
  }
  CHECK(reg.all().size() > 300);
  auto id = reg.find("fd.sport");
  REQUIRE(id);
  CHECK(reg.at(*id).type == FieldType::Port);
  CHECK(reg.at(*id).kernel == KernelForm::Port);
  CHECK(reg.at(*reg.find("proc.name")).kernel == KernelForm::Comm);
  CHECK(reg.at(*reg.find("proc.aname")).arg == ArgKind::Index);
  CHECK(reg.at(*reg.find("ka.verb")).in_source(EventSource::K8sAudit));
  CHECK_FALSE(reg.at(*reg.find("ka.verb")).in_source(EventSource::Syscall));
  std::optional<std::string> arg;
  auto evt_arg = reg.resolve("evt.arg.flags", arg);
  REQUIRE(evt_arg);
  CHECK(reg.at(*evt_arg).name == "evt.arg");
  CHECK(arg == "flags");
  CHECK_FALSE(reg.resolve("proc.name.x", arg));
  CHECK(reg.suggest("proc.nme") == "proc.name");
  CHECK(reg.suggest("zzzzzzzz").empty());
}
