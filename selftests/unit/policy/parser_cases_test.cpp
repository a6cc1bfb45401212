// Condition parser: accept cases (checked against the canonical printer)
// and reject cases (checked against the error message and offset).
#include <doctest/doctest.h>

#include <string>

#include "policy/parser.h"

using namespace pg::policy;

namespace {

struct Accept {
  const char* input;
  const char* canonical;
};

struct Reject {
  const char* input;
  const char* message_part;
  int pos;  // expected error offset, -1: not checked
};

// clang-format off
const Accept kAccept[] = {
  // comparison operators
  {"proc.name = bash", "proc.name = bash"},
  {"proc.name=bash", "proc.name = bash"},
  {"proc.name == bash", "proc.name = bash"},
  {"proc.name==bash", "proc.name = bash"},
  {"proc.name != bash", "proc.name != bash"},
  {"proc.name!=bash", "proc.name != bash"},
  {"fd.sport < 80", "fd.sport < 80"},
  {"fd.sport<80", "fd.sport < 80"},
  {"fd.sport <= 80", "fd.sport <= 80"},
  {"fd.sport<=80", "fd.sport <= 80"},
  {"fd.sport > 80", "fd.sport > 80"},
  {"fd.sport>80", "fd.sport > 80"},
  {"fd.sport >= 80", "fd.sport >= 80"},
  {"fd.sport>=80", "fd.sport >= 80"},
  {"proc.cmdline contains curl", "proc.cmdline contains curl"},
  {"proc.cmdline icontains CURL", "proc.cmdline icontains CURL"},
  {"evt.buffer bcontains 41424344", "evt.buffer bcontains 41424344"},
  {"fd.name startswith /etc", "fd.name startswith /etc"},
  {"evt.buffer bstartswith 7f454c46", "evt.buffer bstartswith 7f454c46"},
  {"fd.name endswith .conf", "fd.name endswith .conf"},
  {"fd.name glob /etc/*.conf", "fd.name glob /etc/*.conf"},
  {"fd.name iglob /ETC/*", "fd.name iglob /ETC/*"},
  {"proc.cmdline regex '^curl .*'", "proc.cmdline regex \"^curl .*\""},
  {"proc.name in (a, b)", "proc.name in (a, b)"},
  {"proc.name in (a,b)", "proc.name in (a, b)"},
  {"proc.name in(a,b)", "proc.name in (a, b)"},
  {"proc.name in ( a , b )", "proc.name in (a, b)"},
  {"proc.name in ()", "proc.name in ()"},
  {"proc.name in (a)", "proc.name in (a)"},
  {"proc.name in (\"a b\", c)", "proc.name in (\"a b\", c)"},
  {"proc.name in (a, \"b,c\")", "proc.name in (a, \"b,c\")"},
  {"ka.req.pod.containers.image intersects (nginx, redis)", "ka.req.pod.containers.image intersects (nginx, redis)"},
  {"fd.name pmatch (/etc, /var/lib)", "fd.name pmatch (/etc, /var/lib)"},
  {"proc.name exists", "proc.name exists"},
  {"evt.type in (open,openat,openat2)", "evt.type in (open, openat, openat2)"},
  // values
  {"evt.dir = <", "evt.dir = <"},
  {"evt.dir=<", "evt.dir = <"},
  {"evt.dir = >", "evt.dir = >"},
  {"evt.dir=>", "evt.dir = >"},
  {"proc.name = \"a b\"", "proc.name = \"a b\""},
  {"proc.name = 'a b'", "proc.name = \"a b\""},
  {"proc.name = \"a\\\"b\"", "proc.name = \"a\\\"b\""},
  {"proc.name = 'it\\'s'", "proc.name = \"it's\""},
  {"proc.name = \"a\\\\b\"", "proc.name = \"a\\\\b\""},
  {"proc.name = \"tab\\there\"", "proc.name = \"tab\\there\""},
  {"proc.name = \"new\\nline\"", "proc.name = \"new\\nline\""},
  {"proc.args = \"x\\dy\"", "proc.args = \"x\\\\dy\""},
  {"proc.name = \"\"", "proc.name = \"\""},
  {"proc.name contains \"(\"", "proc.name contains \"(\""},
  {"proc.name = \"=\"", "proc.name = \"=\""},
  {"proc.name = bash;", "proc.name = bash;"},
  {"proc.pid = -1", "proc.pid = -1"},
  {"user.uid = 0", "user.uid = 0"},
  {"fd.sip = 10.0.0.1", "fd.sip = 10.0.0.1"},
  {"fd.sip = ::1", "fd.sip = ::1"},
  {"fd.snet in (10.0.0.0/8, 192.168.0.0/16)", "fd.snet in (10.0.0.0/8, 192.168.0.0/16)"},
  {"proc.name = and", "proc.name = \"and\""},
  {"proc.name = in", "proc.name = in"},
  {"proc.name in (and, or)", "proc.name in (\"and\", \"or\")"},
  {"proc.name = val", "proc.name = val"},
  {"proc.name = runc:[0:PARENT]", "proc.name = runc:[0:PARENT]"},
  {"fd.name = /dev/null", "fd.name = /dev/null"},
  {"proc.name = \"<NA>\"", "proc.name = <NA>"},
  // field arguments
  {"proc.aname[2] = sh", "proc.aname[2] = sh"},
  {"proc.aname[ 2 ] = sh", "proc.aname[2] = sh"},
  {"evt.arg[0] = x", "evt.arg[0] = x"},
  {"evt.arg.flags contains O_CREAT", "evt.arg.flags contains O_CREAT"},
  {"jevt.value[/user/username] = admin", "jevt.value[/user/username] = admin"},
  {"jevt.value[\"/a b\"] = x", "jevt.value[\"/a b\"] = x"},
  {"jevt.value['/a'] = x", "jevt.value[/a] = x"},
  {"jevt.value[\"/a]b\"] exists", "jevt.value[\"/a]b\"] exists"},  // found by fuzzing
  {"jevt.value[\"a\\\\b\"] exists", "jevt.value[\"a\\\\b\"] exists"},
  {"container.mount.dest[/proc*] = x", "container.mount.dest[/proc*] = x"},
  {"ka.uri.param[command] exists", "ka.uri.param[command] exists"},
  {"proc.env[HOME] = /root", "proc.env[HOME] = /root"},
  {"fd.types[0] in (ipv4, ipv6)", "fd.types[0] in (ipv4, ipv6)"},
  // transformers and val()
  {"tolower(proc.name) = bash", "tolower(proc.name) = bash"},
  {"toupper(proc.name) = BASH", "toupper(proc.name) = BASH"},
  {"b64(evt.arg.data) = \"eA==\"", "b64(evt.arg.data) = \"eA==\""},
  {"basename(proc.exepath) = bash", "basename(proc.exepath) = bash"},
  {"len(proc.args) > 10", "len(proc.args) > 10"},
  {"tolower(basename(fd.name)) = x", "tolower(basename(fd.name)) = x"},
  {"tolower( proc.name ) = x", "tolower(proc.name) = x"},
  {"tolower(proc.aname[1]) = x", "tolower(proc.aname[1]) = x"},
  {"tolower(proc.name) exists", "tolower(proc.name) exists"},
  {"proc.name = val(proc.pname)", "proc.name = val(proc.pname)"},
  {"proc.name=val(proc.pname)", "proc.name = val(proc.pname)"},
  {"proc.name = val( proc.pname )", "proc.name = val(proc.pname)"},
  {"proc.name = val(tolower(proc.pname))", "proc.name = val(tolower(proc.pname))"},
  {"proc.aname[1] != val(proc.name)", "proc.aname[1] != val(proc.name)"},
  {"fd.sport > val(fd.cport)", "fd.sport > val(fd.cport)"},
  // boolean structure and precedence
  {"a", "a"},
  {"a and b", "(a and b)"},
  {"a or b", "(a or b)"},
  {"a and b and c", "(a and b and c)"},
  {"a or b or c", "(a or b or c)"},
  {"a and b or c", "((a and b) or c)"},
  {"a or b and c", "(a or (b and c))"},
  {"not a", "not a"},
  {"not a and b", "(not a and b)"},
  {"not a or b", "(not a or b)"},
  {"a and not b", "(a and not b)"},
  {"not (a and b)", "not (a and b)"},
  {"not(a and b)", "not (a and b)"},
  {"not not a", "not not a"},
  {"((a))", "a"},
  {"(a and (b and c))", "(a and b and c)"},
  {"((a or b) or c)", "(a or b or c)"},
  {"a and (b or c)", "(a and (b or c))"},
  {"(a or b) and (c or d)", "((a or b) and (c or d))"},
  {"not proc.name exists", "not proc.name exists"},
  {"not proc.name = bash", "not proc.name = bash"},
  {"proc.name = a and not proc.name = b", "(proc.name = a and not proc.name = b)"},
  {"(proc.name = a)", "proc.name = a"},
  {"(proc.name=a)and(proc.name=b)", "(proc.name = a and proc.name = b)"},
  {"(proc.name=a)or(proc.name=b)", "(proc.name = a or proc.name = b)"},
  {"proc.name = a\nand\tproc.pname = b", "(proc.name = a and proc.pname = b)"},
  {"  proc.name   =   bash  ", "proc.name = bash"},
  {"android and oracle", "(android and oracle)"},
  {"notify or orange", "(notify or orange)"},
  {"andy", "andy"},
  {"len", "len"},
  {"spawned_process and container and shell_procs", "(spawned_process and container and shell_procs)"},
  {"evt.type = open and evt.dir = < and fd.name = /etc/shadow",
   "(evt.type = open and evt.dir = < and fd.name = /etc/shadow)"},
  {"proc.name in (bash) and (fd.name startswith /etc or fd.name startswith /usr)",
   "(proc.name in (bash) and (fd.name startswith /etc or fd.name startswith /usr))"},
};

const Reject kReject[] = {
  {"", "empty condition", 0},
  {"   ", "empty condition", 3},
  {"proc.name", "missing operator", 9},
  {"proc.name =", "expected a value", 11},
  {"proc.name = bash and", "expected a condition", 20},
  {"and proc.name = bash", "'and' needs a condition on its left", 0},
  {"or a", "'or' needs a condition on its left", 0},
  {"a and or b", "'or' needs a condition on its left", 6},
  {"(proc.name = bash", "expected ')'", 17},
  {"proc.name = bash)", "unbalanced ')'", 16},
  {"proc.name foo bar", "unknown operator", 10},
  {"proc.name in a", "needs a list in parentheses", 13},
  {"proc.name in (a, b", "to close the list", 18},
  {"proc.name in (a,, b)", "expected a value", 16},
  {"proc.name in (a b)", "to close the list", 16},
  {"proc.name = (a, b)", "takes a single value", 12},
  {"proc.name contains (a)", "takes a single value", 19},
  {"proc.name pmatch /etc", "needs a list", 17},
  {"proc.name intersects x", "needs a list", 21},
  {"proc.name = \"unterminated", "unterminated quoted string", 12},
  {"proc.name = 'x", "unterminated quoted string", 12},
  {"proc.name = \"x\\", "unterminated quoted string", 12},
  {"proc.aname[2 = x", "to close the field argument", 13},
  {"proc.aname[] = x", "empty field argument", 11},
  {"proc.aname[\"x] = y", "unterminated quoted string", 11},
  {"tolower(proc.name = x", "to close the transformer", 18},
  {"foo(proc.name) = x", "unknown transformer 'foo'", 0},
  {"tolower(bash) = x", "'bash' is not a field", 8},
  {"proc. = x", "malformed field name", 0},
  {"proc..name = x", "malformed field name", 0},
  {"not", "expected a condition", 3},
  {"not not", "expected a condition", 7},
  {"a b", "unexpected 'b'", 2},
  {"proc.name = a b", "unexpected 'b'", 14},
  {"proc.name exists x", "unexpected 'x'", 17},
  {"proc.name = val(proc.pname", "to close 'val('", 26},
  {"proc.name = val(bash)", "'bash' is not a field", 16},
  {"proc.name in val(proc.pname)", "takes a list, not val()", 10},
  {"proc.name ==== x", "expected a value, found '='", 12},
  {"proc.name =< x", "unexpected 'x'", 13},
  {"()", "expected a field, a macro name or '('", 1},
  {"(", "expected a condition", 1},
  {")", "expected a field, a macro name or '('", 0},
  {"123 = x", "expected a field, a macro name or '('", 0},
  {"\"proc.name\" = x", "expected a field, a macro name or '('", 0},
  {"proc.name startswith", "expected a value", 20},
  {"not (", "expected a condition", 5},
  {"proc.name != ", "expected a value", 13},
  {"= bash", "expected a field, a macro name or '('", 0},
  {", a", "expected a field, a macro name or '('", 0},
  {"a,b", "unexpected ',b'", 1},
  {"a and (b or c", "expected ')'", 13},
  {"a and b)", "unbalanced ')'", 7},
  {"proc.name in (a))", "unbalanced ')'", 16},
  {"proc.name in ((a))", "expected a value", 14},
  {"proc.name = \"a\" \"b\"", "unexpected '\"b\"'", 16},
  {"proc.name like x", "unknown operator", 10},
  {"proc.name ~= x", "unknown operator", 10},
  {"proc.name = bash or", "expected a condition", 19},
  {"not and a", "'and' needs a condition on its left", 4},
  {"len(proc.args > 1", "to close the transformer", 14},
  {"tolower() = x", "expected a field name", 8},
  {"proc.name existsx", "unknown operator", 10},
  {"proc.name inx (a)", "unknown operator", 10},
  {"proc.name in (a, )", "expected a value", 17},
};
// clang-format on

}  // namespace

TEST_CASE("parser accepts Falco conditions and prints them canonically") {
  for (const auto& c : kAccept) {
    std::string input = c.input;
    CAPTURE(input);
    auto n = parse_condition(c.input);
    REQUIRE_MESSAGE(n.has_value(), (n ? std::string() : n.error().message));
    CHECK(to_string(*n) == c.canonical);
    // The canonical form is itself a fixed point of parse + print.
    auto again = parse_condition(to_string(*n));
    REQUIRE(again.has_value());
    CHECK(to_string(*again) == c.canonical);
  }
}

TEST_CASE("parser rejects malformed conditions with a message and an offset") {
  for (const auto& c : kReject) {
    std::string input = c.input;
    CAPTURE(input);
    auto n = parse_condition(c.input);
    REQUIRE_FALSE(n.has_value());
    CAPTURE(n.error().message);
    CHECK(n.error().message.find(c.message_part) != std::string::npos);
    if (c.pos >= 0) CHECK(n.error().pos == static_cast<std::size_t>(c.pos));
  }
}

TEST_CASE("parser has at least 150 accept/reject cases") {
  CHECK(std::size(kAccept) + std::size(kReject) >= 150);
}

TEST_CASE("parser refuses nesting deeper than the limit instead of overflowing the stack") {
  std::string deep(1000, '(');
  deep += "a";
  deep += std::string(1000, ')');
  auto n = parse_condition(deep);
  REQUIRE_FALSE(n.has_value());
  CHECK(n.error().message.find("nested too deeply") != std::string::npos);
  std::string nots;
  for (int i = 0; i < 2000; ++i) nots += "not ";
  CHECK_FALSE(parse_condition(nots + "a").has_value());
  std::string ok(250, '(');
  CHECK(parse_condition(ok + "a" + std::string(250, ')')).has_value());
}

TEST_CASE("parse_field_ref reads fields with arguments and transformers") {
  auto f = parse_field_ref("tolower(proc.aname[2])");
  REQUIRE(f.has_value());
  CHECK(f->name == "proc.aname");
  CHECK(f->arg == "2");
  REQUIRE(f->transformers.size() == 1);
  CHECK(f->transformers[0] == Transformer::ToLower);
  CHECK_FALSE(parse_field_ref("proc.name x").has_value());
  CHECK_FALSE(parse_field_ref("").has_value());
}
