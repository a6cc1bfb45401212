// Multi-value transformers join(), concat() and getopt() (Falco engine 0.59
// and 0.60): how they parse and print, and which argument shapes the type
// checker refuses (libs' rules). Evaluation is in
// selftests/unit/user/multivalue_transformers_test.cpp.
#include <doctest/doctest.h>

#include "policy/lowering.h"
#include "policy/output_format.h"
#include "policy/parser.h"
#include "selftests/unit/policy/helpers.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {

std::string parsed(const std::string& text) {
  auto n = parse_condition(text);
  if (!n) return "error: " + n.error().message;
  return to_string(*n);
}

std::string load_error(const std::string& condition) {
  auto r = load_yaml(rule_yaml("r", condition));
  if (r.ok()) return "loaded";
  return all_diags(r);
}

}  // namespace

TEST_CASE("join, concat and getopt parse with literals, fields, lists and nested calls") {
  CHECK(parsed(R"(join("-", (fd.name, fd.directory)) = /tmp/test)") ==
        R"(join("-", (fd.name, fd.directory)) = /tmp/test)");
  CHECK(parsed(R"(join('->', (toupper(proc.name), "lit", 123)) contains x)") ==
        R"(join("->", (toupper(proc.name), "lit", "123")) contains x)");
  CHECK(parsed("concat(proc.name, proc.pname) = bashbash") ==
        "concat(proc.name, proc.pname) = bashbash");
  CHECK(parsed("toupper(concat(proc.name, fd.name)) exists") ==
        "toupper(concat(proc.name, fd.name)) exists");
  CHECK(parsed(R"(getopt((proc.args[0], proc.args[1]), "nt:")[t] = value)") ==
        R"(getopt((proc.args[0], proc.args[1]), "nt:")[t] = value)");
  CHECK(parsed(R"(getopt(("-n", "-t"), "nt:") intersects (n, t))") ==
        R"(getopt(("-n", "-t"), "nt:") intersects (n, t))");
  CHECK(parsed(R"(len(join(",", ())) = 0)") == R"(len(join(",", ())) = 0)");
  CHECK(parsed(R"(proc.name = val(concat(proc.pname, "x")))") ==
        R"(proc.name = val(concat(proc.pname, "x")))");
  // A call is not a macro: an unknown name followed by '(' is still refused.
  CHECK(parsed("joint(proc.name) = x").find("unknown transformer 'joint'") != std::string::npos);
  CHECK(parsed(R"(join("-", (fd.name, (a, b))) = x)").find("a list cannot hold another list") !=
        std::string::npos);
  CHECK(parsed(R"(concat(proc.name, fd.name = x)").find("to close 'concat('") != std::string::npos);
}

TEST_CASE("outputs take multi-value transformers, quoted parentheses and getopt's selector") {
  auto out =
      parse_output(R"x(a %join(")", (proc.name, fd.name)) b %getopt((proc.args[0]), "t:")[t].)x");
  REQUIRE(out);
  std::vector<std::string> fields;
  for (const auto& s : out->segments)
    if (s.is_field) fields.push_back(to_string(s.field));
  REQUIRE(fields.size() == 2);
  CHECK(fields[0] == R"x(join(")", (proc.name, fd.name)))x");
  CHECK(fields[1] == R"x(getopt((proc.args[0]), "t:")[t])x");
  auto r = load_yaml(
      "- rule: r\n  desc: d\n  condition: evt.type = execve\n"
      "  output: '%concat(proc.name, user.name) %join(\",\", (proc.pid, proc.ppid))'\n"
      "  priority: NOTICE\n");
  CHECK_MESSAGE(r.ok(), all_diags(r));
}

TEST_CASE("multi-value transformers type-check their arguments as libs does") {
  CHECK(load_error(R"(join("-", (fd.name, proc.pid)) = x)") == "loaded");
  CHECK(load_error(R"(concat(proc.name, "x", 1) = x)") == "loaded");
  CHECK(load_error(R"(getopt((proc.args[0], proc.args[1]), "t:")[t] = x)") == "loaded");
  CHECK(load_error(R"(len(getopt(("-t", "a"), "t:")) > 1)") == "loaded");
  CHECK(load_error(R"(join("-", fd.name) = x)").find("second argument must be a list") !=
        std::string::npos);
  CHECK(load_error(R"(join(("a", "b"), (fd.name)) = x)").find("separator must be a single value") !=
        std::string::npos);
  // As in libs, a list holds fields, transformers, quoted strings and numbers.
  CHECK(load_error(R"(join("-", (a, b)) = x)").find("'a' is not a field") != std::string::npos);
  CHECK(load_error(R"(join("-") = x)").find("join() takes two arguments") != std::string::npos);
  CHECK(load_error("concat(proc.name) = x").find("at least two strings") != std::string::npos);
  CHECK(load_error("concat(proc.name, proc.pid) = x").find("concat() takes single strings") !=
        std::string::npos);
  CHECK(load_error(R"(getopt("-t", "t:") = x)").find("first argument must be a list") !=
        std::string::npos);
  CHECK(load_error(R"(getopt(("-t"), ("t:")) = x)").find("optstring must be a single string") !=
        std::string::npos);
  CHECK(load_error(R"(getopt(("-t"), "t:")[tt] = x)").find("one option character") !=
        std::string::npos);
  CHECK(load_error(R"(concat(proc.name, fd.name)[x] = y)").find("takes no argument") !=
        std::string::npos);
  CHECK(load_error(R"(concat(proc.nme, fd.name) = y)").find("unknown field 'proc.nme'") !=
        std::string::npos);
  // getopt without a selector is a list: a modifier needs a single value.
  CHECK(load_error(R"(getopt(("-t"), "t:") startswith anyof (a))").find("holds several values") !=
        std::string::npos);
}

TEST_CASE("a rule using a multi-value transformer keeps its event types and a sound kernel half") {
  auto r = load_yaml(rule_yaml(
      "r",
      R"(evt.type = execve and concat(proc.name, proc.pname) = bashsshd and proc.name = bash)"));
  REQUIRE_MESSAGE(r.ok(), all_diags(r));
  const Rule* x = r.ruleset.find("r");
  REQUIRE(x);
  CHECK_FALSE(x->event_types.all);
  CHECK(x->event_types.names == std::vector<std::string>{"execve"});
}

TEST_CASE("the kernel half treats a multi-value transformer as residue, never as its fields") {
  // concat(proc.name, ...) must not be lowered as a comparison of proc.name:
  // that would drop events the userspace condition accepts.
  auto r = load_yaml(rule_yaml("r", R"(evt.type = execve and concat(proc.name, "x") = bashx)"));
  REQUIRE_MESSAGE(r.ok(), all_diags(r));
  KernelHalf k = lower_rule(*r.ruleset.find("r"));
  REQUIRE(k.clauses.size() == 1);
  // Only the clause's syscalls (execve) are judged: nothing of proc.name.
  REQUIRE(k.clauses[0].literals.size() == 1);
  CHECK(k.clauses[0].literals[0].field == kKindLiteral);
  REQUIRE(k.residue.size() == 1);
  CHECK(k.residue[0].find("concat(") != std::string::npos);
}
