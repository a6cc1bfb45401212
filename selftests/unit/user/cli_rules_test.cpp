// `peregrine rules validate|list|describe` and `peregrine fields`: exit
// codes and output shape, through the run_* functions.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "user/cli/rules.h"

using namespace pg::user;

namespace {
std::string write_temp(const std::string& name, const std::string& content) {
  auto dir = std::filesystem::temp_directory_path() / "pg-cli-rules-test";
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p) << content;
  return p.string();
}
const char* kGood =
    "- rule: Shell\n  desc: a shell\n  condition: evt.type = execve and proc.name = bash\n"
    "  output: shell %proc.name\n  priority: WARNING\n  tags: [shell]\n"
    "  exceptions:\n    - name: e\n      fields: proc.pname\n      values: [sshd]\n";
const char* kWarn =
    "- rule: Any\n  desc: d\n  condition: proc.name = bash\n  output: o\n  priority: INFO\n";
const char* kBad =
    "- rule: Bad\n  desc: d\n  condition: evt.type = open and proc.nme = x\n  output: o\n  "
    "priority: INFO\n";
}  // namespace

TEST_CASE("rules validate: exit 0 on success, 1 on errors, warnings fail only with --strict") {
  std::ostringstream out, err;
  CHECK(run_rules_validate({{write_temp("good.yaml", kGood)}, false, false}, out, err) == 0);
  CHECK(out.str().starts_with("OK"));
  CHECK(run_rules_validate({{write_temp("warn.yaml", kWarn)}, false, false}, out, err) == 0);
  CHECK(run_rules_validate({{write_temp("warn.yaml", kWarn)}, true, false}, out, err) == 1);
  std::ostringstream out2, err2;
  CHECK(run_rules_validate({{write_temp("bad.yaml", kBad)}, false, false}, out2, err2) == 1);
  CHECK(err2.str().find("error LOAD_ERR_COMPILE_CONDITION in rule 'Bad'") != std::string::npos);
  CHECK(err2.str().find("did you mean 'proc.name'") != std::string::npos);
}

TEST_CASE("rules validate --json reports diagnostics with code and location") {
  std::ostringstream out, err;
  CHECK(run_rules_validate({{write_temp("bad.yaml", kBad)}, false, true}, out, err) == 1);
  auto j = nlohmann::json::parse(out.str());
  CHECK(j["ok"] == false);
  CHECK(j["errors"] == 1);
  REQUIRE(j["diagnostics"].size() >= 1);
  CHECK(j["diagnostics"][0]["code"] == "LOAD_ERR_COMPILE_CONDITION");
  CHECK(j["diagnostics"][0]["line"] == 3);
  CHECK(j["diagnostics"][0]["column"] == 34);
  CHECK(j["diagnostics"][0]["item_name"] == "Bad");
}

TEST_CASE("rules list and describe show the loaded rules") {
  auto good = write_temp("good.yaml", kGood);
  std::ostringstream out, err;
  CHECK(run_rules_list({{good}, false}, out, err) == 0);
  CHECK(out.str().find("Shell") != std::string::npos);
  CHECK(out.str().find("Warning") != std::string::npos);
  std::ostringstream js;
  CHECK(run_rules_list({{good}, true}, js, err) == 0);
  auto l = nlohmann::json::parse(js.str());
  CHECK(l[0]["name"] == "Shell");
  CHECK(l[0]["tags"][0] == "shell");
  std::ostringstream d;
  CHECK(run_rules_describe({"Shell", {good}, true}, d, err) == 0);
  auto j = nlohmann::json::parse(d.str());
  CHECK(j["expanded_condition"] ==
        "(evt.type = execve and proc.name = bash and not proc.pname in (sshd))");
  CHECK(j["event_types"][0] == "execve");
  CHECK(j["exceptions"][0]["name"] == "e");
  std::ostringstream none, nerr;
  CHECK(run_rules_describe({"Nope", {good}, false}, none, nerr) == 1);
  CHECK(run_rules_list({{write_temp("bad.yaml", kBad)}, false}, none, nerr) == 1);
}

TEST_CASE("rules validate and list read a directory's *.yaml files in name order") {
  auto dir = std::filesystem::temp_directory_path() / "pg-cli-rules-dir-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // Two rules files and a file that is not one: the directory stands for the two.
  std::ofstream(dir / "a.yaml") << "- macro: shells\n  condition: proc.name in (bash, sh)\n";
  std::ofstream(dir / "b.yaml") << "- rule: Shell\n  desc: d\n  condition: evt.type = execve and "
                                   "shells\n  output: o\n  priority: INFO\n";
  std::ofstream(dir / "notes.txt") << "not rules";
  std::ostringstream out, err;
  CHECK(run_rules_validate({{dir.string()}, true, false}, out, err) == 0);
  CHECK(out.str().starts_with("OK: 2 file(s), 1 rules, 1 macros"));
  std::ostringstream list;
  CHECK(run_rules_list({{dir.string()}, false}, list, err) == 0);
  CHECK(list.str().find("Shell") != std::string::npos);
  std::ostringstream missing, merr;
  CHECK(run_rules_validate({{(dir / "nope").string()}, false, false}, missing, merr) == 1);
  CHECK(merr.str().find("does not exist") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("fields lists the registry, filtered by source") {
  std::ostringstream out, err;
  CHECK(run_fields({std::string("k8s_audit"), true}, out, err) == 0);
  auto j = nlohmann::json::parse(out.str());
  REQUIRE(j.size() > 50);
  for (const auto& f : j)
    CHECK(f["sources"].get<std::string>().find("k8s_audit") != std::string::npos);
  std::ostringstream text;
  CHECK(run_fields({std::nullopt, false}, text, err) == 0);
  CHECK(text.str().find("proc.aname[N]?") != std::string::npos);
  // Fields without an extractor are marked, in text and JSON.
  std::string t = text.str();
  auto line = t.substr(t.find("proc.vpgid.name"));
  line = line.substr(0, line.find('\n'));
  CHECK(line.find("[no extractor in this build: always <NA>]") != std::string::npos);
  std::ostringstream js;
  CHECK(run_fields({std::string("syscall"), true}, js, err) == 0);
  int marked = 0;
  for (const auto& f : nlohmann::json::parse(js.str())) {
    if (f["name"] == "proc.name") CHECK(f["extracted"] == true);
    if (f["name"] == "proc.vpgid.name") CHECK(f["extracted"] == false);
    marked += f["extracted"] == false;
  }
  CHECK(marked > 0);
  CHECK(run_fields({std::string("nope"), false}, text, err) == 1);
}

TEST_CASE("add_rules_commands registers rules subcommands and returns rules") {
  CLI::App app{"t"};
  CLI::App* rules = add_rules_commands(app);
  REQUIRE(rules != nullptr);
  CHECK(rules->get_name() == "rules");
  CHECK(rules->get_subcommand("validate") != nullptr);
  CHECK(rules->get_subcommand("list") != nullptr);
  CHECK(rules->get_subcommand("describe") != nullptr);
  CHECK(app.get_subcommand("fields") != nullptr);
  auto bad = write_temp("bad.yaml", kBad);
  std::vector<std::string> args{"t", "rules", "validate", bad};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream sink;
  auto* old_out = std::cout.rdbuf(sink.rdbuf());
  auto* old_err = std::cerr.rdbuf(sink.rdbuf());
  int code = 0;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    code = app.exit(e);
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  CHECK(code == 1);
}

TEST_CASE(
    "rules validate: an uncaptured event type and a field without extractor warn, with "
    "their place; --strict makes them fail") {
  const std::string recv =
      "- rule: Recv\n  desc: d\n  condition: evt.type in (recvfrom, connect) and fd.num > 0\n"
      "  output: o %fd.name\n  priority: INFO\n";
  const std::string na =
      "- rule: Group\n  desc: d\n  condition: evt.type = execve\n"
      "  output: o %proc.vpgid.name\n  priority: INFO\n";
  for (const auto& [name, text, code, line, col] :
       {std::tuple{"recv.yaml", recv, "LOAD_EVTTYPE_NOT_CAPTURED", 3, 27},
        std::tuple{"na.yaml", na, "LOAD_FIELD_UNAVAILABLE", 4, 13}}) {
    CAPTURE(name);
    auto path = write_temp(name, text);
    std::ostringstream out, err;
    CHECK(run_rules_validate({{path}, false, true}, out, err) == 0);
    auto j = nlohmann::json::parse(out.str());
    REQUIRE(j["diagnostics"].size() == 1);
    CHECK(j["diagnostics"][0]["code"] == code);
    CHECK(j["diagnostics"][0]["severity"] == "warning");
    CHECK(j["diagnostics"][0]["line"] == line);
    CHECK(j["diagnostics"][0]["column"] == col);
    std::ostringstream out2, err2;
    CHECK(run_rules_validate({{path}, true, false}, out2, err2) == 1);
    CHECK(err2.str().find(code) != std::string::npos);
  }
}

TEST_CASE("rules validate and list expand directories as run does; a broken rule fails") {
  auto dir = std::filesystem::temp_directory_path() / "pg-cli-rules-dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "10-good.yaml") << kGood;
  std::ofstream(dir / "notes.txt") << "not rules";
  std::ostringstream out, err;
  CHECK(run_rules_validate({{dir.string()}, false, false}, out, err) == 0);
  CHECK(out.str().starts_with("OK: 1 file(s), 1 rules"));
  std::ostringstream lout, lerr;
  CHECK(run_rules_list({{dir.string()}, false}, lout, lerr) == 0);
  CHECK(lout.str().find("Shell") != std::string::npos);

  std::ofstream(dir / "20-bad.yml") << kBad;
  std::ostringstream out2, err2;
  CHECK(run_rules_validate({{dir.string()}, false, false}, out2, err2) == 1);
  CHECK(out2.str().starts_with("FAILED: 2 file(s)"));
  CHECK(err2.str().find("20-bad.yml:3:34: error LOAD_ERR_COMPILE_CONDITION") != std::string::npos);

  std::ostringstream out3, err3;
  CHECK(run_rules_validate({{(dir / "missing").string()}, false, false}, out3, err3) == 1);
  CHECK(err3.str().find("does not exist") != std::string::npos);
}
