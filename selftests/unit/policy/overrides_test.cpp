// Collector: override append/replace for every key Falco allows, legacy
// append, enabled-only rules, redefinition, and refused combinations.
#include <doctest/doctest.h>

#include "helpers.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {
const std::string kBase =
    "- list: shells\n  items: [bash, sh]\n"
    "- macro: opens\n  condition: evt.type in (open, openat)\n"
    "- rule: R\n  desc: base desc\n  condition: opens and proc.name in (shells)\n"
    "  output: opened %fd.name\n  priority: WARNING\n  tags: [t1, t2]\n"
    "  exceptions:\n    - name: ex1\n      fields: [proc.pname]\n      values: [[sshd]]\n";

LoadResult with(const std::string& more) {
  auto r = load_yaml(kBase + more);
  CAPTURE(all_diags(r));
  REQUIRE(r.ok());
  REQUIRE(r.ruleset.find("R") != nullptr);
  return r;
}
const Rule& rule(const LoadResult& r) { return *r.ruleset.find("R"); }
}  // namespace

TEST_CASE("base rule expands macros, lists and exceptions") {
  auto r = with("");
  CHECK(cond(r, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh) and not proc.pname = sshd)");
  CHECK(rule(r).event_types.names == std::vector<std::string>{"open", "openat"});
  CHECK_FALSE(rule(r).event_types.all);
}

TEST_CASE("override condition: append and replace") {
  auto a = with(
      "- rule: R\n  condition: and fd.name startswith /etc\n  override:\n    condition: append\n");
  CHECK(rule(a).condition_text == "opens and proc.name in (shells) and fd.name startswith /etc");
  CHECK(cond(a, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh) and fd.name startswith /etc "
        "and not proc.pname = sshd)");
}

TEST_CASE("override condition: replace") {
  auto r = load_yaml(
      kBase + "- rule: R\n  condition: evt.type = close\n  override:\n    condition: replace\n");
  CHECK(cond(r, "R") == "(evt.type = close and not proc.pname = sshd)");
  CHECK(rule(r).event_types.names == std::vector<std::string>{"close"});
}

TEST_CASE("override output: append and replace") {
  CHECK(rule(with("- rule: R\n  output: by %proc.name\n  override:\n    output: append\n"))
            .output.text == "opened %fd.name by %proc.name");
  CHECK(rule(with("- rule: R\n  output: new %proc.name\n  override:\n    output: replace\n"))
            .output.text == "new %proc.name");
}

TEST_CASE("override desc: append and replace") {
  CHECK(rule(with("- rule: R\n  desc: more\n  override:\n    desc: append\n")).desc ==
        "base desc more");
  CHECK(rule(with("- rule: R\n  desc: other\n  override:\n    desc: replace\n")).desc == "other");
}

TEST_CASE("override tags: append (no duplicates) and replace") {
  CHECK(rule(with("- rule: R\n  tags: [t2, t3]\n  override:\n    tags: append\n")).tags ==
        std::vector<std::string>{"t1", "t2", "t3"});
  CHECK(rule(with("- rule: R\n  tags: [x]\n  override:\n    tags: replace\n")).tags ==
        std::vector<std::string>{"x"});
}

TEST_CASE("override exceptions: append values, append new, replace") {
  auto values = with(
      "- rule: R\n  exceptions:\n    - name: ex1\n      values: [[cron]]\n"
      "  override:\n    exceptions: append\n");
  CHECK(cond(values, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh) and "
        "not (proc.pname = sshd or proc.pname = cron))");
  auto added = with(
      "- rule: R\n  exceptions:\n    - name: ex2\n      fields: fd.name\n      values: [/tmp/x]\n"
      "  override:\n    exceptions: append\n");
  CHECK(cond(added, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh) and "
        "not (proc.pname = sshd or fd.name in (/tmp/x)))");
  auto replaced = with(
      "- rule: R\n  exceptions:\n    - name: only\n      fields: fd.name\n      values: [/x]\n"
      "  override:\n    exceptions: replace\n");
  CHECK(cond(replaced, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh) and "
        "not fd.name in (/x))");
}

TEST_CASE(
    "override replace-only keys: priority, enabled, warn_evttypes, skip-if-unknown-filter, "
    "capture") {
  CHECK(rule(with("- rule: R\n  priority: critical\n  override:\n    priority: replace\n"))
            .priority == Priority::Critical);
  CHECK_FALSE(
      rule(with("- rule: R\n  enabled: false\n  override:\n    enabled: replace\n")).enabled);
  CHECK_FALSE(
      rule(with("- rule: R\n  warn_evttypes: false\n  override:\n    warn_evttypes: replace\n"))
          .warn_evttypes);
  CHECK(rule(with("- rule: R\n  skip-if-unknown-filter: true\n  override:\n    "
                  "skip-if-unknown-filter: replace\n"))
            .skip_if_unknown_filter);
  with(
      "- rule: R\n  capture: true\n  capture_duration: 1000\n  override:\n    capture: replace\n"
      "    capture_duration: replace\n");
}

TEST_CASE("override refuses append on replace-only keys") {
  for (const char* key : {"priority: INFO", "enabled: false", "warn_evttypes: false",
                          "skip-if-unknown-filter: true", "source: k8s_audit"}) {
    std::string k(key);
    std::string name = k.substr(0, k.find(':'));
    auto r = load_yaml(kBase + "- rule: R\n  " + k + "\n  override:\n    " + name + ": append\n");
    CAPTURE(k);
    CHECK(r.diagnostics.has(Code::ErrValidate));
  }
  auto src =
      load_yaml(kBase + "- rule: R\n  source: k8s_audit\n  override:\n    source: replace\n");
  CHECK(src.diagnostics.has(Code::ErrValidate));
}

TEST_CASE("override items of lists: append and replace") {
  auto a = with("- list: shells\n  items: [zsh]\n  override:\n    items: append\n");
  CHECK(cond(a, "R") ==
        "(evt.type in (open, openat) and proc.name in (bash, sh, zsh) and not proc.pname = sshd)");
  auto r = with("- list: shells\n  items: [fish]\n  override:\n    items: replace\n");
  CHECK(cond(r, "R") ==
        "(evt.type in (open, openat) and proc.name in (fish) and not proc.pname = sshd)");
}

TEST_CASE("override condition of macros: append and replace") {
  auto a = with(
      "- macro: opens\n  condition: or evt.type = creat\n  override:\n    condition: append\n");
  CHECK(cond(a, "R") ==
        "((evt.type in (open, openat) or evt.type = creat) and proc.name in (bash, sh) "
        "and not proc.pname = sshd)");
  CHECK(rule(a).event_types.names == std::vector<std::string>{"creat", "open", "openat"});
  auto r = with(
      "- macro: opens\n  condition: evt.type = openat2\n  override:\n    condition: replace\n");
  CHECK(cond(r, "R") ==
        "(evt.type = openat2 and proc.name in (bash, sh) and not proc.pname = sshd)");
}

TEST_CASE("legacy append: true for rules, macros and lists") {
  auto r = with(
      "- rule: R\n  condition: and fd.name = /x\n  append: true\n"
      "- macro: opens\n  condition: or evt.type = creat\n  append: true\n"
      "- list: shells\n  items: [zsh]\n  append: true\n");
  CHECK(cond(r, "R") ==
        "((evt.type in (open, openat) or evt.type = creat) and proc.name in (bash, sh, zsh) "
        "and fd.name = /x and not proc.pname = sshd)");
  auto ex =
      with("- rule: R\n  exceptions:\n    - name: ex1\n      values: [[cron]]\n  append: true\n");
  CHECK(cond(ex, "R").find("proc.pname = cron") != std::string::npos);
}

TEST_CASE("a rule that only sets enabled toggles an existing rule") {
  CHECK_FALSE(rule(with("- rule: R\n  enabled: false\n")).enabled);
  CHECK(rule(with("- rule: R\n  enabled: false\n- rule: R\n  enabled: true\n")).enabled);
}

TEST_CASE("overrides across files apply in load order") {
  auto r =
      load_yamls({{"a.yaml", kBase},
                  {"b.yaml", "- list: shells\n  items: [zsh]\n  override:\n    items: append\n"}});
  CHECK(r.ok());
  CHECK(cond(r, "R").find("(bash, sh, zsh)") != std::string::npos);
  auto wrong_order = load_yamls(
      {{"b.yaml", "- list: shells\n  items: [zsh]\n  append: true\n"}, {"a.yaml", kBase}});
  CHECK(wrong_order.diagnostics.has(Code::ErrValidate));
}

TEST_CASE("redefining a rule, macro or list replaces it") {
  auto r = with(
      "- list: shells\n  items: [ksh]\n- rule: R\n  desc: new\n  condition: evt.type = open and "
      "proc.name in (shells)\n"
      "  output: o\n  priority: INFO\n");
  CHECK(cond(r, "R") == "(evt.type = open and proc.name in (ksh))");
  CHECK(r.ruleset.rules.size() == 1);
  CHECK(rule(r).priority == Priority::Informational);
}

TEST_CASE("override combined with append, unlisted keys and missing keys are refused") {
  auto both = load_yaml(
      kBase +
      "- rule: R\n  condition: and a\n  append: true\n  override:\n    condition: append\n");
  CHECK(both.diagnostics.has(Code::ErrValidate));
  auto unlisted = load_yaml(
      kBase + "- rule: R\n  condition: and a\n  desc: x\n  override:\n    condition: append\n");
  CHECK(unlisted.diagnostics.has(Code::ErrValidate));
  auto missing = load_yaml(kBase + "- rule: R\n  override:\n    condition: append\n");
  CHECK(missing.diagnostics.has(Code::ErrValidate));
  auto mode =
      load_yaml(kBase + "- rule: R\n  condition: and a\n  override:\n    condition: prepend\n");
  CHECK(mode.diagnostics.has(Code::ErrValidate));
}

TEST_CASE("priorities are case-insensitive and include info") {
  const std::pair<const char*, Priority> cases[] = {{"EMERGENCY", Priority::Emergency},
                                                    {"Alert", Priority::Alert},
                                                    {"critical", Priority::Critical},
                                                    {"ERROR", Priority::Error},
                                                    {"warning", Priority::Warning},
                                                    {"Notice", Priority::Notice},
                                                    {"INFORMATIONAL", Priority::Informational},
                                                    {"info", Priority::Informational},
                                                    {"DEBUG", Priority::Debug}};
  for (const auto& [text, p] : cases) {
    CAPTURE(text);
    auto r =
        load_yaml("- rule: R\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: " +
                  std::string(text) + "\n");
    REQUIRE(r.ok());
    CHECK(r.ruleset.rules.at(0).priority == p);
    CHECK(priority_from_name(priority_name(p)) == p);
  }
}

TEST_CASE("tags, source and capture keys are read") {
  auto r = load_yaml(
      "- rule: K\n  desc: d\n  condition: ka.verb = create and jevt.value[/stage] = x\n"
      "  output: '%ka.user.name %jevt.value[/user/username]'\n  priority: NOTICE\n"
      "  source: k8s_audit\n  tags: [k8s]\n  capture: true\n  capture_duration: 5000\n");
  CAPTURE(all_diags(r));
  REQUIRE(r.ok());
  const Rule& k = r.ruleset.rules.at(0);
  CHECK(k.source == EventSource::K8sAudit);
  CHECK(k.tags == std::vector<std::string>{"k8s"});
  CHECK(k.output.segments.size() == 3);
}
