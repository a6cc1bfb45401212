// String comparator modifiers (`startswith oneof (...)`, `anyof`, `allof`):
// what parses as a modifier, how it prints, where it is refused, and how
// exception `comps` use it. Evaluation is in selftests/unit/user/engine_test.cpp.
#include <doctest/doctest.h>

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

}  // namespace

TEST_CASE("modifiers parse after every operator libs allows them on") {
  for (const char* op : {"=", "==", "!=", "contains", "icontains", "bcontains", "startswith",
                         "bstartswith", "endswith", "glob", "iglob", "regex"}) {
    for (const char* mod : {"oneof", "anyof", "allof"}) {
      std::string text = std::string("proc.name ") + op + " " + mod + " (a, b)";
      auto n = parse_condition(text);
      REQUIRE_MESSAGE(n, text);
      CHECK(n->mod == *modifier_from_name(mod));
      CHECK(n->rhs == RhsKind::List);
      CHECK(n->values.size() == 2);
    }
  }
  CHECK(parsed("fd.name startswith oneof (/etc, /root)") ==
        "fd.name startswith oneof (/etc, /root)");
  CHECK(parsed("proc.name == anyof (a)") == "proc.name = anyof (a)");
  CHECK(parsed("proc.name = allof ()") == "proc.name = allof ()");
  // A list name without parentheses, as libs accepts.
  CHECK(parsed("proc.name startswith anyof shells and evt.type = open") ==
        "(proc.name startswith anyof (shells) and evt.type = open)");
}

TEST_CASE("a modifier word that is not followed by a list is an ordinary value") {
  CHECK(parsed("proc.name = oneof") == "proc.name = oneof");
  CHECK(parsed("proc.name = oneof and fd.num = 1") == "(proc.name = oneof and fd.num = 1)");
  CHECK(parsed("proc.name startswith allof or fd.num = 1") ==
        "(proc.name startswith allof or fd.num = 1)");
  // No blank between the operator and the word: a value, as in libs.
  CHECK(parsed("proc.name =anyof") == "proc.name = anyof");
  // Operators that take no modifier.
  CHECK(parsed("proc.name in oneof (a)").starts_with("error"));
  CHECK(parsed("fd.num >= oneof (1)").starts_with("error"));
  CHECK(comparator_from_name("in oneof") == std::nullopt);
  CHECK(comparator_from_name(">= anyof") == std::nullopt);
  CHECK(comparator_from_name("startswith someof") == std::nullopt);
  auto c = comparator_from_name("startswith  oneof");
  REQUIRE(c);
  CHECK(c->op == Op::StartsWith);
  CHECK(c->mod == Modifier::OneOf);
}

TEST_CASE("modifiers in conditions load, expand lists and keep event types") {
  auto r = load_yaml(
      R"(
- list: tmp_dirs
  items: [/tmp, /var/tmp]
)" +
      rule_yaml(
          "m",
          "evt.type = anyof (open, openat) and fd.name startswith oneof (tmp_dirs, /dev/shm)") +
      rule_yaml("n", "evt.type != allof (open, openat) and evt.type in (open, connect)"));
  INFO(all_diags(r));
  REQUIRE(r.ok());
  CHECK(
      cond(r, "m") ==
      "(evt.type = anyof (open, openat) and fd.name startswith oneof (/tmp, /var/tmp, /dev/shm))");
  const Rule* m = r.ruleset.find("m");
  CHECK_FALSE(m->event_types.all);
  CHECK(m->event_types.names == std::vector<std::string>{"open", "openat"});
  const Rule* n = r.ruleset.find("n");
  CHECK(n->event_types.names == std::vector<std::string>{"connect"});
}

TEST_CASE("modifiers are refused on list fields and, with other operators, on typed fields") {
  auto lst =
      load_yaml(rule_yaml("l", "ka.user.groups startswith anyof (a, b)", "  source: k8s_audit\n"));
  CHECK_FALSE(lst.ok());
  const Diagnostic* d = find_diag(lst, Code::ErrCompileCondition);
  REQUIRE(d);
  CHECK(d->message.find("single-valued") != std::string::npos);

  auto ip = load_yaml(rule_yaml("i", "evt.type = connect and fd.sip contains anyof (10, 11)"));
  CHECK_FALSE(ip.ok());
  auto ok = load_yaml(rule_yaml("j",
                                "evt.type = connect and fd.sip = anyof (10.0.0.1, 10.0.0.2) "
                                "and fd.sport != allof (22, 80)"));
  INFO(all_diags(ok));
  CHECK(ok.ok());
  // Values are checked as the field's type, element by element.
  auto bad = load_yaml(rule_yaml("k", "evt.type = connect and fd.sport = anyof (22, http)"));
  CHECK_FALSE(bad.ok());
}

TEST_CASE("exception comps take modifiers in the single- and multi-field forms") {
  auto r = load_yaml(R"(
- list: sys_dirs
  items: [/usr, /opt]
)" + rule_yaml("e", "evt.type = open and fd.name startswith /", R"(  exceptions:
    - name: single
      fields: fd.name
      comps: startswith oneof
      values: [/proc, sys_dirs]
    - name: multi
      fields: [proc.name, fd.name]
      comps: [=, endswith anyof]
      values:
        - [cat, [.log, .txt]]
        - [vi, .swp]
        - [less, sys_dirs]
)"));
  INFO(all_diags(r));
  REQUIRE(r.ok());
  CHECK(cond(r, "e") ==
        "(evt.type = open and fd.name startswith / and not (fd.name startswith oneof (/proc, /usr, "
        "/opt) or (proc.name = cat and fd.name endswith anyof (.log, .txt)) or (proc.name = vi and "
        "fd.name endswith anyof (.swp)) or (proc.name = less and fd.name endswith anyof (/usr, "
        "/opt))))");

  auto bad = load_yaml(rule_yaml("f", "evt.type = open", R"(  exceptions:
    - name: x
      fields: fd.name
      comps: in oneof
      values: [/a]
)"));
  CHECK_FALSE(bad.ok());
  const Diagnostic* d = find_diag(bad, Code::ErrValidate);
  REQUIRE(d);
  CHECK(d->message.find("'in oneof'") != std::string::npos);
}

TEST_CASE("\\xHH escapes in quoted values are single bytes (engine 0.63)") {
  auto n = parse_condition("proc.name = \"a\\x41\\xff\"");
  REQUIRE(n);
  CHECK(n->values.at(0).text == std::string("aA\xff"));
  CHECK(parsed("fd.name contains \"\\x01x\"") == "fd.name contains \"\\x01x\"");  // round-trips
  CHECK(parsed("proc.name = \"\\xZ1\"").starts_with("error: invalid escape"));
  CHECK(parsed("proc.name = \"\\x4\"").starts_with("error: invalid escape"));
  // A NUL byte only for buffer fields, as libs.
  auto nul = load_yaml(rule_yaml("n", "evt.type = open and proc.name = \"a\\x00\""));
  CHECK_FALSE(nul.ok());
  CHECK(all_diags(nul).find("NUL byte") != std::string::npos);
}
