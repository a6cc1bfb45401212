// Every diagnostic code: the exact code, item and file:line:col it is
// reported with.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>

#include "helpers.h"
#include "policy/input_file.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {
void check_at(const LoadResult& r, Code c, int line, int col) {
  const Diagnostic* d = find_diag(r, c);
  CAPTURE(all_diags(r));
  REQUIRE(d != nullptr);
  CHECK(d->loc.line == line);
  CHECK(d->loc.col == col);
}
}  // namespace

TEST_CASE("every diagnostic code has a unique stable name and a severity") {
  std::set<std::string_view> names;
  for (Code c : kAllCodes) {
    auto n = code_name(c);
    CHECK(names.insert(n).second);
    CHECK(code_from_name(n) == c);
    CHECK(n.starts_with("LOAD_"));
    CHECK((code_severity(c) == Severity::Error) == n.starts_with("LOAD_ERR_"));
    CHECK_FALSE(code_summary(c).empty());
  }
}

TEST_CASE("LOAD_ERR_FILE_READ: a missing file") {
  std::vector<std::string> paths{"/nonexistent/peregrine/rules.yaml"};
  auto r = load_rules(paths);
  REQUIRE(find_diag(r, Code::ErrFileRead));
  CHECK(find_diag(r, Code::ErrFileRead)->loc.file == paths[0]);
  CHECK_FALSE(r.ok());
}

TEST_CASE("LOAD_ERR_FILE_READ: a FIFO, a device, a link to one and a directory are not read") {
  char tmpl[] = "/tmp/pg-policy-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, fifo = dir + "/fifo.yaml", link = dir + "/zero.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE(::symlink("/dev/zero", link.c_str()) == 0);
  for (const std::string& p : {fifo, std::string("/dev/zero"), link, dir}) {
    CAPTURE(p);
    // A FIFO with no writer would block the open, /dev/zero never ends:
    // either way this would not return if the file were read.
    std::vector<std::string> paths{p};
    const auto t0 = std::chrono::steady_clock::now();
    auto r = load_rules(paths);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    const Diagnostic* d = find_diag(r, Code::ErrFileRead);
    REQUIRE(d);
    CHECK(d->loc.file == p);
    CHECK(d->message.find("not a regular file") != std::string::npos);
  }
  // Over the size limit (a sparse file: no disk used).
  const std::string big = dir + "/big.yaml";
  {
    std::ofstream(big) << "";
    REQUIRE(::truncate(big.c_str(), off_t(kMaxInputFileBytes + 1)) == 0);
  }
  std::vector<std::string> paths{big};
  auto r = load_rules(paths);
  REQUIRE(find_diag(r, Code::ErrFileRead));
  CHECK(find_diag(r, Code::ErrFileRead)->message.find("limit") != std::string::npos);
  for (const auto& f : {fifo, link, big}) ::unlink(f.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("LOAD_ERR_YAML_PARSE: broken YAML with its position") {
  auto r = load_yaml("- rule: x\n  desc: [unclosed\n");
  REQUIRE(find_diag(r, Code::ErrYamlParse));
  CHECK(find_diag(r, Code::ErrYamlParse)->loc.line >= 2);
  CHECK_FALSE(r.ok());
}

TEST_CASE("LOAD_ERR_YAML_VALIDATE: wrong shapes and missing keys") {
  check_at(load_yaml("rule: x\n"), Code::ErrYamlValidate, 1, 1);
  auto r = load_yaml("- rule: x\n  desc: d\n  condition: proc.name = a\n  priority: INFO\n");
  check_at(r, Code::ErrYamlValidate, 1, 3);
  CHECK(find_diag(r, Code::ErrYamlValidate)->message.find("'output'") != std::string::npos);
  CHECK(find_diag(r, Code::ErrYamlValidate)->item_name == "x");
  CHECK(find_diag(r, Code::ErrYamlValidate)->item_type == ItemType::Rule);
  check_at(load_yaml("- list: l\n  items: notalist\n"), Code::ErrYamlValidate, 2, 3);
  check_at(load_yaml("- rule: x\n  tags: {a: b}\n"), Code::ErrYamlValidate, 2, 3);
  check_at(load_yaml("- macro: m\n"), Code::ErrYamlValidate, 1, 3);
  check_at(load_yaml("- list: l\n"), Code::ErrYamlValidate, 1, 3);
  check_at(load_yaml("- just a string\n"), Code::ErrYamlValidate, 1, 3);
  check_at(load_yaml(rule_yaml("x", "evt.type = open", "  enabled: maybe\n")),
           Code::ErrYamlValidate, 6, 3);
  check_at(
      load_yaml(rule_yaml("x", "evt.type = open", "  exceptions:\n    - fields: [proc.name]\n")),
      Code::ErrYamlValidate, 7, 7);
}

TEST_CASE("LOAD_ERR_COMPILE_CONDITION: unknown field with suggestion, caret and position") {
  auto r = load_yaml(rule_yaml("Foo", "evt.type = open and proc.nme = bash"));
  const Diagnostic* d = find_diag(r, Code::ErrCompileCondition);
  REQUIRE(d);
  CHECK(d->loc.file == "rules.yaml");
  CHECK(d->loc.line == 3);
  CHECK(d->loc.col == 34);
  CHECK(d->item_type == ItemType::Rule);
  CHECK(d->item_name == "Foo");
  CHECK(d->message == "unknown field 'proc.nme' (did you mean 'proc.name'?)");
  CHECK(render_text(*d) ==
        "rules.yaml:3:34: error LOAD_ERR_COMPILE_CONDITION in rule 'Foo': unknown field 'proc.nme' "
        "(did you mean 'proc.name'?)\n"
        "    condition: evt.type = open and proc.nme = bash\n  " +
            std::string(33, ' ') + "^");
  CHECK(r.ruleset.rules.empty());
}

TEST_CASE("LOAD_ERR_COMPILE_CONDITION: positions inside folded block conditions") {
  auto r = load_yaml(
      "- rule: Foo\n  desc: d\n  condition: >\n    evt.type = open and\n    (proc.name = a or\n"
      "     fd.sport > abc)\n  output: o\n  priority: INFO\n");
  check_at(r, Code::ErrCompileCondition, 6, 17);
  CHECK(find_diag(r, Code::ErrCompileCondition)->message.find("port number") != std::string::npos);
}

TEST_CASE("LOAD_ERR_COMPILE_CONDITION: errors inside a macro are reported at the macro") {
  auto r = load_yaml("- macro: m\n  condition: proc.name = a and user.uid = root\n" +
                     rule_yaml("R1", "evt.type = open and m") +
                     rule_yaml("R2", "evt.type = close and m"));
  const Diagnostic* d = find_diag(r, Code::ErrCompileCondition);
  REQUIRE(d);
  CHECK(d->item_type == ItemType::Macro);
  CHECK(d->item_name == "m");
  CHECK(d->loc.line == 2);
  CHECK(d->loc.col == 43);
  CHECK(r.diagnostics.error_count() == 1);  // reported once, not per rule
}

TEST_CASE("LOAD_ERR_COMPILE_CONDITION: syntax, macros, lists and types") {
  auto err = [](const std::string& yaml) {
    auto r = load_yaml(yaml);
    const Diagnostic* d = find_diag(r, Code::ErrCompileCondition);
    return d ? d->message : "<none>: " + all_diags(r);
  };
  CHECK(err(rule_yaml("R", "evt.type = open and")).find("expected a condition") == 0);
  CHECK(err(rule_yaml("R", "evt.type = open and nosuchmacro"))
            .find("undefined macro 'nosuchmacro'") == 0);
  CHECK(err("- list: l\n  items: [a]\n" + rule_yaml("R", "evt.type = open and l"))
            .find("is a list") != std::string::npos);
  CHECK(err("- macro: a\n  condition: b\n- macro: b\n  condition: a\n" +
            rule_yaml("R", "evt.type = open and a"))
            .find("refers to itself") != std::string::npos);
  CHECK(err("- list: a\n  items: [b]\n- list: b\n  items: [a]\n" +
            rule_yaml("R", "evt.type = open and proc.name in (a)"))
            .find("includes itself") != std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and fd.sport > abc")).find("port number") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and proc.name > 3")).find("needs a numeric field") !=
        std::string::npos);
  CHECK(
      err(rule_yaml("R", "evt.type = open and user.uid contains 3")).find("needs a string field") !=
      std::string::npos);
  CHECK(
      err(rule_yaml("R", "evt.type = open and fd.sport pmatch (/a)")).find("needs a path field") !=
      std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and proc.pid = abc")).find("signed integer") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and user.uid = -1")).find("unsigned integer") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and fd.connected = yes")).find("true or false") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and fd.sip = 1.2.3")).find("IPv4 or IPv6") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and fd.snet in (10.0.0.0/33)")).find("network") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and proc.cmdline regex '('"))
            .find("regular expression") != std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and evt.buffer bcontains xyz")).find("hex bytes") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and proc.name[1] = a")).find("takes no argument") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and proc.aname[x] = a")).find("numeric index") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "jevt.value = a", "  source: k8s_audit\n")).find("needs an argument") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and evt.arg.x[1] = a")).find("both a dotted key") !=
        std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and ka.verb = get"))
            .find("does not exist for source 'syscall'") != std::string::npos);
  CHECK(err(rule_yaml("R", "evt.type = open and tolower(user.uid) = a"))
            .find("needs a string field") != std::string::npos);
  CHECK(
      err(rule_yaml("R", "evt.type = open and proc.name = val(user.uid)")).find("cannot compare") !=
      std::string::npos);
}

TEST_CASE("LOAD_ERR_COMPILE_OUTPUT: unknown and malformed output fields") {
  auto r = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: opened by %proc.nme\n"
      "  priority: INFO\n");
  check_at(r, Code::ErrCompileOutput, 4, 21);
  CHECK(find_diag(r, Code::ErrCompileOutput)->message.find("did you mean 'proc.name'") !=
        std::string::npos);
  auto r2 = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: x %proc.aname[2\n"
      "  priority: INFO\n");
  CHECK(find_diag(r2, Code::ErrCompileOutput));
}

TEST_CASE("LOAD_ERR_VALIDATE: bad priority, undefined targets, disallowed overrides") {
  auto bad = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: loud\n");
  check_at(bad, Code::ErrValidate, 5, 13);
  check_at(load_yaml("- rule: Nope\n  condition: and x\n  override:\n    condition: append\n"),
           Code::ErrValidate, 1, 3);
  check_at(load_yaml("- list: nope\n  items: [a]\n  append: true\n"), Code::ErrValidate, 1, 3);
  check_at(load_yaml("- macro: nope\n  condition: a\n  override:\n    condition: replace\n"),
           Code::ErrValidate, 1, 3);
  check_at(load_yaml("- rule: Nope\n  enabled: false\n"), Code::ErrValidate, 1, 3);
  auto r = load_yaml(rule_yaml("R", "evt.type = open") +
                     "- rule: R\n  priority: INFO\n  override:\n    priority: append\n");
  check_at(r, Code::ErrValidate, 9, 5);
  CHECK(find_diag(r, Code::ErrValidate)->message.find("cannot be overridden with append") !=
        std::string::npos);
}

TEST_CASE("LOAD_ERR_ENGINE_VERSION: a file needing a newer engine is refused") {
  auto r = load_yaml("- required_engine_version: 0.99.0\n" + rule_yaml("R", "evt.type = open"));
  check_at(r, Code::ErrEngineVersion, 1, 3);
  CHECK(r.ruleset.rules.empty());
  CHECK(load_yaml("- required_engine_version: 200\n").diagnostics.has(Code::ErrEngineVersion));
  CHECK(load_yaml("- required_engine_version: 15\n").ok());
  CHECK(load_yaml("- required_engine_version: 0.57.0\n").ok());
  CHECK(load_yaml("- required_engine_version: 0.58.0\n").ok());
  // Falco's current engine (0.63: join/concat/getopt, modifiers, \xHH).
  CHECK(load_yaml("- required_engine_version: 0.63.0\n").ok());
  CHECK(load_yaml("- required_engine_version: 63\n").ok());
  CHECK(load_yaml("- required_engine_version: 0.64.0\n").diagnostics.has(Code::ErrEngineVersion));
  CHECK(load_yaml("- required_engine_version: banana\n").diagnostics.has(Code::ErrYamlValidate));
}

TEST_CASE("LOAD_ERR_PLUGIN_VERSION: unknown plugins and versions newer than ours") {
  auto r = load_yaml("- required_plugin_versions:\n    - name: cloudtrail\n      version: 0.1.0\n");
  check_at(r, Code::ErrPluginVersion, 2, 7);
  CHECK(find_diag(r, Code::ErrPluginVersion)->message.find("'cloudtrail'") != std::string::npos);
  CHECK(load_yaml("- required_plugin_versions:\n    - name: k8saudit\n      version: 0.99.0\n")
            .diagnostics.has(Code::ErrPluginVersion));
  CHECK(load_yaml("- required_plugin_versions:\n    - name: k8saudit\n      version: 1.0.0\n")
            .diagnostics.has(Code::ErrPluginVersion));
  CHECK(load_yaml(
            "- required_plugin_versions:\n    - name: k8saudit-eks\n      version: 0.1.0\n"
            "      alternatives:\n        - name: k8saudit\n          version: 0.5.0\n"
            "    - name: json\n      version: 0.7.0\n    - name: container\n      version: 0.4.0\n")
            .ok());
}

TEST_CASE("LOAD_UNKNOWN_SOURCE: the rule is skipped with a warning") {
  auto r = load_yaml(rule_yaml("R", "evt.type = open", "  source: aws_cloudtrail\n"));
  check_at(r, Code::UnknownSource, 6, 11);
  CHECK(r.ok());
  CHECK(r.ruleset.rules.empty());
}

TEST_CASE("LOAD_UNSAFE_NA_CHECK: comparing with <NA>") {
  auto r = load_yaml(rule_yaml("R", "evt.type = open and proc.name = \"<NA>\""));
  check_at(r, Code::UnsafeNaCheck, 3, 46);
  CHECK(r.ok());
}

TEST_CASE("LOAD_NO_EVTTYPE: a syscall rule that does not restrict evt.type") {
  auto r = load_yaml(rule_yaml("R", "proc.name = bash"));
  check_at(r, Code::NoEvttype, 3, 14);
  CHECK(r.ruleset.rules.at(0).event_types.all);
  CHECK_FALSE(load_yaml(rule_yaml("R", "proc.name = bash", "  warn_evttypes: false\n"))
                  .diagnostics.has(Code::NoEvttype));
  CHECK_FALSE(load_yaml(rule_yaml("R", "ka.verb = get", "  source: k8s_audit\n"))
                  .diagnostics.has(Code::NoEvttype));
}

TEST_CASE("LOAD_UNKNOWN_FILTER: skip-if-unknown-filter skips the rule instead of failing") {
  auto r = load_yaml(
      rule_yaml("R", "evt.type = open and proc.nosuch = a", "  skip-if-unknown-filter: true\n"));
  check_at(r, Code::UnknownFilter, 3, 34);
  CHECK(r.ok());
  CHECK(r.ruleset.rules.empty());
  auto out = load_yaml(
      "- rule: R\n  desc: d\n  condition: evt.type = open\n  output: '%proc.nosuch'\n"
      "  priority: INFO\n  skip-if-unknown-filter: true\n");
  CHECK(out.ok());
  CHECK(out.diagnostics.has(Code::UnknownFilter));
}

TEST_CASE("LOAD_UNUSED_MACRO and LOAD_UNUSED_LIST") {
  auto r = load_yaml("- macro: lonely\n  condition: proc.name = a\n- list: alone\n  items: [a]\n" +
                     rule_yaml("R", "evt.type = open"));
  check_at(r, Code::UnusedMacro, 1, 3);
  check_at(r, Code::UnusedList, 3, 3);
  CHECK(find_diag(r, Code::UnusedMacro)->item_name == "lonely");
  CHECK(find_diag(r, Code::UnusedList)->item_name == "alone");
  auto used = load_yaml(
      "- list: inner\n  items: [a]\n- list: outer\n  items: [inner, b]\n"
      "- macro: m\n  condition: proc.name in (outer)\n" +
      rule_yaml("R", "evt.type = open and m"));
  CHECK_FALSE(used.diagnostics.has(Code::UnusedMacro));
  CHECK_FALSE(used.diagnostics.has(Code::UnusedList));
}

TEST_CASE("LOAD_UNKNOWN_ITEM and LOAD_UNKNOWN_KEY are warnings") {
  auto r = load_yaml("- ruleset: x\n" + rule_yaml("R", "evt.type = open", "  descr: typo\n"));
  check_at(r, Code::UnknownItem, 1, 3);
  check_at(r, Code::UnknownKey, 7, 3);
  CHECK(r.ok());
  CHECK(r.ruleset.rules.size() == 1);
}

TEST_CASE("LOAD_EXCEPTION_NAME_NOT_UNIQUE") {
  auto r = load_yaml(rule_yaml("R", "evt.type = open",
                               "  exceptions:\n    - name: e\n      fields: proc.name\n"
                               "    - name: e\n      fields: fd.name\n"));
  check_at(r, Code::ExceptionNameNotUnique, 9, 7);
}

TEST_CASE("LOAD_INVALID_MACRO_NAME and LOAD_INVALID_LIST_NAME") {
  auto r = load_yaml(
      "- macro: bad-name\n  condition: proc.name = a\n- list: 'bad list'\n  items: [a]\n");
  check_at(r, Code::InvalidMacroName, 1, 3);
  check_at(r, Code::InvalidListName, 3, 3);
}

TEST_CASE("LOAD_UNKNOWN_EVTTYPE: evt.type compared with an unknown name") {
  auto r = load_yaml(rule_yaml("R", "evt.type in (open, opne)"));
  check_at(r, Code::UnknownEvttype, 3, 33);
  CHECK(r.ok());
}

TEST_CASE("LOAD_APPEND_NO_VALUES: appends that add nothing") {
  auto r = load_yaml("- list: l\n  items: [a]\n- list: l\n  items: []\n  append: true\n");
  check_at(r, Code::AppendNoValues, 3, 3);
  auto m = load_yaml(
      "- macro: m\n  condition: a\n- macro: m\n  condition: ''\n  override:\n    condition: "
      "append\n");
  CHECK(m.diagnostics.has(Code::AppendNoValues));
}

TEST_CASE("YAML that once hung the loader is read in bounded time") {
  // yaml-cpp's LoadAll loops forever on this (falcosecurity/falco#3281).
  auto r = load_yaml(
      "\n- macro: exclude_commands\n  condition:\n    (user.uid = 1001 and proc.args in (\n"
      "\"/usr/local/bin/script_metrics.sh\",\n    \"-c rsync\"\n    )  )  \n    ");
  CHECK(r.diagnostics.all().size() >= 1);
}

TEST_CASE("every YAML document of a rules file is read, as Falco does, positions kept") {
  CHECK(load_yaml("---\n" + rule_yaml("R", "evt.type = open")).ok());
  auto r = load_yaml(rule_yaml("R", "evt.type = open and proc.name in (l)") +
                     "---\n- list: l\n  items: [sh]\n--- # a comment\n\n...\n---\n" +
                     rule_yaml("S", "evt.type = open"));
  CHECK_MESSAGE(r.ok(), all_diags(r));
  CHECK(r.ruleset.find("S"));
  CHECK(cond(r, "R") == "(evt.type = open and proc.name in (sh))");
  // A mistake in a later document is reported at its line in the file.
  r = load_yaml(rule_yaml("R", "evt.type = open") + "---\n- list: l\n  itemz: []\n");
  const Diagnostic* d = find_diag(r, Code::UnknownKey);
  REQUIRE_MESSAGE(d, all_diags(r));
  CHECK(d->loc.line == 8);
  // A document that is not a list of items is refused at its place.
  r = load_yaml(rule_yaml("R", "evt.type = open") + "---\nrule: x\n");
  check_at(r, Code::ErrYamlValidate, 7, 1);
}

TEST_CASE("errors in appended conditions point into the file that appended them") {
  auto r = load_yamls({{"base.yaml", rule_yaml("R", "evt.type = open")},
                       {"local.yaml",
                        "- rule: R\n  condition: and proc.nme = x\n  override:\n"
                        "    condition: append\n"}});
  const Diagnostic* d = find_diag(r, Code::ErrCompileCondition);
  REQUIRE(d);
  CHECK(d->loc.file == "local.yaml");
  CHECK(d->loc.line == 2);
  CHECK(d->loc.col == 18);
  CHECK(d->excerpt == "  condition: and proc.nme = x");
}
