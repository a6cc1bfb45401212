// Exceptions in every form Falco accepts, and their structural errors.
#include <doctest/doctest.h>

#include "helpers.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {
const std::string kLists =
    "- list: trusted\n  items: [sshd, cron]\n- list: tmpdirs\n  items: [/tmp, /var/tmp]\n";

std::string with_exceptions(const std::string& ex) {
  auto r = load_yaml(kLists + rule_yaml("R", "evt.type = open", "  exceptions:\n" + ex));
  CAPTURE(all_diags(r));
  REQUIRE(r.ok());
  return cond(r, "R");
}
LoadResult load_exceptions(const std::string& ex) {
  return load_yaml(kLists + rule_yaml("R", "evt.type = open", "  exceptions:\n" + ex));
}
}  // namespace

TEST_CASE("single-field exception defaults to 'in' with all values in one list") {
  CHECK(with_exceptions("    - name: e\n      fields: proc.name\n      values: [a, b]\n") ==
        "(evt.type = open and not proc.name in (a, b))");
}

TEST_CASE("single-field exception values naming a list expand; quoted names do not") {
  CHECK(with_exceptions("    - name: e\n      fields: proc.pname\n      values: [trusted, x]\n") ==
        "(evt.type = open and not proc.pname in (sshd, cron, x))");
  CHECK(with_exceptions("    - name: e\n      fields: proc.pname\n      values: [\"trusted\"]\n") ==
        "(evt.type = open and not proc.pname in (trusted))");
}

TEST_CASE("single-field exception with a non-list comparison becomes an or") {
  CHECK(with_exceptions("    - name: e\n      fields: fd.name\n      comps: startswith\n      "
                        "values: [/a, /b]\n") ==
        "(evt.type = open and not (fd.name startswith /a or fd.name startswith /b))");
  CHECK(
      with_exceptions(
          "    - name: e\n      fields: fd.name\n      comps: pmatch\n      values: [tmpdirs]\n") ==
      "(evt.type = open and not fd.name pmatch (/tmp, /var/tmp))");
}

TEST_CASE("multi-field exception defaults to '=' per field") {
  CHECK(with_exceptions("    - name: e\n      fields: [proc.name, fd.name]\n"
                        "      values: [[a, /x], [b, /y]]\n") ==
        "(evt.type = open and not ((proc.name = a and fd.name = /x) or (proc.name = b and fd.name "
        "= /y)))");
}

TEST_CASE("multi-field exception with comps, list values and list names") {
  CHECK(with_exceptions(
            "    - name: e\n      fields: [proc.name, fd.name]\n      comps: [in, startswith]\n"
            "      values: [[[a, b], /x], [trusted, /y]]\n") ==
        "(evt.type = open and not ((proc.name in (a, b) and fd.name startswith /x) or "
        "(proc.name in (sshd, cron) and fd.name startswith /y)))");
}

TEST_CASE("values with spaces, quotes and operators are kept as literal values") {
  CHECK(with_exceptions("    - name: e\n      fields: [proc.cmdline]\n      values: [[\"a b "
                        "(c)\"], ['x\"y']]\n") ==
        "(evt.type = open and not (proc.cmdline = \"a b (c)\" or proc.cmdline = \"x\\\"y\"))");
}

TEST_CASE("several exceptions are or-ed; exceptions without values add nothing") {
  CHECK(with_exceptions("    - name: e1\n      fields: proc.name\n      values: [a]\n"
                        "    - name: e2\n      fields: [fd.name]\n      values: [[/x]]\n") ==
        "(evt.type = open and not (proc.name in (a) or fd.name = /x))");
  CHECK(
      with_exceptions("    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=, =]\n") ==
      "evt.type = open");
}

TEST_CASE("exception fields may use arguments and transformers") {
  CHECK(with_exceptions("    - name: e\n      fields: ['proc.aname[2]', 'tolower(fd.name)']\n"
                        "      values: [[java, /x]]\n") ==
        "(evt.type = open and not (proc.aname[2] = java and tolower(fd.name) = /x))");
}

TEST_CASE("exception fields may be multi-value transformers (Falco 0.44's list transformers)") {
  CHECK(with_exceptions("    - name: e\n      fields: ['concat(proc.name, proc.pname)', "
                        "'join(\",\", (proc.name, fd.name))']\n"
                        "      values: [[javabash, \"java,/x\"]]\n") ==
        "(evt.type = open and not (concat(proc.name, proc.pname) = javabash and "
        "join(\",\", (proc.name, fd.name)) = \"java,/x\"))");
}

TEST_CASE("exception structural errors are LOAD_ERR_VALIDATE at the exception") {
  auto fail = [](const std::string& ex) {
    auto r = load_exceptions(ex);
    const Diagnostic* d = find_diag(r, Code::ErrValidate);
    return d ? d->message : "<none> " + all_diags(r);
  };
  CHECK(fail("    - name: e\n      fields: [a.b, c.d]\n      comps: [=]\n      values: [[x, y]]\n")
            .find("one comparison per field") != std::string::npos);
  CHECK(fail("    - name: e\n      fields: [proc.name, fd.name]\n      values: [[x]]\n")
            .find("has 1 entries but there are 2 fields") != std::string::npos);
  CHECK(fail("    - name: e\n      fields: [proc.name]\n      comps: [like]\n      values: [[x]]\n")
            .find("unknown comparison 'like'") != std::string::npos);
  CHECK(fail("    - name: e\n      fields: proc.name\n      comps: [in]\n      values: [x]\n")
            .find("single comparison") != std::string::npos);
  CHECK(fail("    - name: e\n      values: [x]\n").find("no 'fields'") != std::string::npos);
  CHECK(fail("    - name: e\n      fields: [proc.name]\n      values: [[[a, b]]]\n")
            .find("takes one value") != std::string::npos);
  CHECK(fail("    - name: e\n      fields: [\"proc.name x\"]\n      values: [[a]]\n")
            .find("not a field reference") != std::string::npos);
  auto r =
      load_exceptions("    - name: e\n      fields: [proc.name, fd.name]\n      values: [[x]]\n");
  REQUIRE(find_diag(r, Code::ErrValidate));
  CHECK(find_diag(r, Code::ErrValidate)->loc.line == 11);
}

TEST_CASE("exception fields are type-checked like conditions") {
  auto r = load_exceptions("    - name: e\n      fields: [proc.nme]\n      values: [[a]]\n");
  REQUIRE(find_diag(r, Code::ErrCompileCondition));
  CHECK(find_diag(r, Code::ErrCompileCondition)->message.find("did you mean 'proc.name'") !=
        std::string::npos);
  auto v = load_exceptions("    - name: e\n      fields: [fd.sport]\n      values: [[http]]\n");
  CHECK(v.diagnostics.has(Code::ErrCompileCondition));
}

TEST_CASE("multi-field exception values also read when quoted or numeric") {
  CHECK(with_exceptions(
            "    - name: e\n      fields: [fd.sport, proc.name]\n      comps: [\">\", \"!=\"]\n"
            "      values: [[1024, 'a']]\n") ==
        "(evt.type = open and not (fd.sport > 1024 and proc.name != a))");
}
