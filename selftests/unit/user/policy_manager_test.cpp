// The live policy: named policies, atomic switches, rule toggles, the
// kernel hook, and counters across switches.
#include "user/live_policy/policy_manager.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "policy/filter_tables.h"
#include "user/live_policy/kernel_hook.h"

using namespace pg::user;
using namespace pg::user::control;

namespace {

struct Dir {
  Dir() {
    char t[] = "/tmp/pg-policy-XXXXXX";
    path = mkdtemp(t);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string path;
};

// One rule that fires on opening `file`.
std::string rule_file(const std::string& rule, const std::string& file,
                      const std::string& tags = "[test]") {
  return "- rule: " + rule + "\n  desc: d\n  condition: evt.type = openat and fd.name = " + file +
         "\n  output: \"" + rule + " %fd.name\"\n  priority: WARNING\n  tags: " + tags + "\n";
}

Event open_event(const std::string& path) {
  Event e;
  e.kind = EventKind::Open;
  e.open_kind = PG_OPEN_OPENAT;
  e.task.tgid = e.task.tid = 200;
  e.task.ppid = 1;
  e.task.comm = "cat";
  e.open_flags = O_RDONLY;
  e.ret = 3;
  e.path.raw = path;
  e.path.abs = path;
  return e;
}

// The rules that fire for `e` in the event thread's current generation.
std::vector<std::string> fire(PolicyManager& pm, const Event& e) {
  ProcessTable procs;
  engine::EventView v{e, procs, nullptr, 1, "host"};
  std::vector<std::string> out;
  pm.adopt_pending().engine->process(v, [&](output::Alert&& a) { out.push_back(a.rule); });
  return out;
}

std::vector<std::string> names(const ActivePolicy& a) {
  std::vector<std::string> out;
  for (const auto& p : a.policies) out.push_back(p.name);
  return out;
}

engine::EngineOptions all_matches() {
  engine::EngineOptions o;
  o.all_matches = true;
  return o;
}

}  // namespace

TEST_CASE("policies are evaluated as one union; loading under a name replaces it in place") {
  Dir d;
  auto a = d.write("a.yaml", rule_file("A", "/a"));
  auto b = d.write("b.yaml", rule_file("B", "/b"));
  PolicyManager pm(all_matches());
  REQUIRE(pm.load("default", {a}));
  REQUIRE(pm.load("extra", {b}));
  CHECK(fire(pm, open_event("/a")) == std::vector<std::string>{"A"});
  CHECK(fire(pm, open_event("/b")) == std::vector<std::string>{"B"});
  CHECK(names(*pm.current()) == std::vector<std::string>{"default", "extra"});

  auto b2 = d.write("b2.yaml", rule_file("B2", "/b2"));
  auto gen = pm.load("default", {b2});
  REQUIRE(gen);
  CHECK(fire(pm, open_event("/a")).empty());
  CHECK(fire(pm, open_event("/b2")) == std::vector<std::string>{"B2"});
  CHECK(names(*pm.current()) == std::vector<std::string>{"default", "extra"});
  CHECK(pm.current()->generation == *gen);
  // Each engine rule knows its policy.
  for (const auto& r : pm.current()->engine->rules())
    CHECK(pm.current()->policies[r.origin].name == (r.rule->name == "B" ? "extra" : "default"));
}

TEST_CASE("a bad rules file is refused with its location, and the running policy stays") {
  Dir d;
  auto good = d.write("good.yaml", rule_file("A", "/a"));
  auto bad = d.write("bad.yaml",
                     "- rule: broken\n  desc: d\n  condition: evt.type = openat and fd.nme = x\n"
                     "  output: o\n  priority: WARNING\n");
  PolicyManager pm({});
  REQUIRE(pm.load("default", {good}));
  fire(pm, open_event("/a"));
  const uint64_t gen = pm.current()->generation;

  auto r = pm.load("default", {good, bad});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::RulesInvalid);
  REQUIRE_FALSE(r.error().diagnostics.empty());
  CHECK(r.error().diagnostics[0].loc.file == bad);
  CHECK(r.error().diagnostics[0].loc.line == 3);
  CHECK(r.error().diagnostics[0].loc.col > 1);
  CHECK(r.error().message.find(bad + ":3:") != std::string::npos);
  CHECK(pm.load_errors() == 1);
  // Nothing pending, nothing changed.
  CHECK(fire(pm, open_event("/a")) == std::vector<std::string>{"A"});
  CHECK(pm.current()->generation == gen);

  auto missing = pm.load("other", {d.path + "/nope.yaml"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::NotFound);
  CHECK(pm.load("bad name!", {good}).error().code == ErrorCode::InvalidArgument);
  CHECK(pm.unload("nope").error().code == ErrorCode::NotFound);
  CHECK(pm.reload("nope").error().code == ErrorCode::NotFound);
  CHECK(pm.current()->generation == gen);
}

TEST_CASE("policy names: letters, digits, dot, dash, underscore; 1 to 64") {
  CHECK(valid_policy_name("default"));
  CHECK(valid_policy_name("web-1.prod_x"));
  CHECK_FALSE(valid_policy_name(""));
  CHECK_FALSE(valid_policy_name("-x"));
  CHECK_FALSE(valid_policy_name("a b"));
  CHECK_FALSE(valid_policy_name("a/b"));
  CHECK_FALSE(valid_policy_name(std::string(65, 'a')));
}

TEST_CASE("unloading a policy stops its rules; the others keep firing") {
  Dir d;
  PolicyManager pm({});
  REQUIRE(pm.load("a", {d.write("a.yaml", rule_file("A", "/a"))}));
  REQUIRE(pm.load("b", {d.write("b.yaml", rule_file("B", "/b"))}));
  REQUIRE(pm.unload("a"));
  CHECK(fire(pm, open_event("/a")).empty());
  CHECK(fire(pm, open_event("/b")) == std::vector<std::string>{"B"});
}

TEST_CASE("reload re-reads the files; a broken file keeps the running policy") {
  Dir d;
  auto f = d.write("p.yaml", rule_file("Old", "/x"));
  PolicyManager pm({});
  REQUIRE(pm.load("p", {f}));
  CHECK(fire(pm, open_event("/x")) == std::vector<std::string>{"Old"});
  d.write("p.yaml", rule_file("New", "/x"));
  REQUIRE(pm.reload());
  CHECK(fire(pm, open_event("/x")) == std::vector<std::string>{"New"});
  d.write("p.yaml", "- rule: [unclosed\n");
  auto r = pm.reload("p");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::RulesInvalid);
  CHECK(fire(pm, open_event("/x")) == std::vector<std::string>{"New"});
}

TEST_CASE("rules enable/disable by name and by tag; unknown targets change nothing") {
  Dir d;
  auto f = d.write("p.yaml", rule_file("A", "/a", "[net, t1]") + rule_file("B", "/b", "[t1]"));
  PolicyManager pm(all_matches());
  REQUIRE(pm.load("p", {f}));
  REQUIRE(pm.set_enabled({false, "A", false}));
  CHECK(fire(pm, open_event("/a")).empty());
  CHECK(fire(pm, open_event("/b")) == std::vector<std::string>{"B"});
  REQUIRE(pm.set_enabled({true, "t1", false}));
  CHECK(fire(pm, open_event("/b")).empty());
  REQUIRE(pm.set_enabled({false, "A", true}));  // later toggle wins
  CHECK(fire(pm, open_event("/a")) == std::vector<std::string>{"A"});
  const uint64_t gen = pm.current()->generation;
  CHECK(pm.set_enabled({false, "No such rule", false}).error().code == ErrorCode::NotFound);
  CHECK(pm.set_enabled({true, "nosuchtag", true}).error().code == ErrorCode::NotFound);
  fire(pm, open_event("/x"));
  CHECK(pm.current()->generation == gen);
  // Toggles survive a reload of the files.
  REQUIRE(pm.reload());
  CHECK(fire(pm, open_event("/b")).empty());
}

TEST_CASE("per-rule match counters carry over a switch") {
  Dir d;
  auto f = d.write("p.yaml", rule_file("A", "/a"));
  PolicyManager pm({});
  REQUIRE(pm.load("p", {f}));
  fire(pm, open_event("/a"));
  fire(pm, open_event("/a"));
  REQUIRE(pm.load("q", {d.write("q.yaml", rule_file("Q", "/q"))}));
  fire(pm, open_event("/a"));
  uint64_t a = 0;
  for (const auto& r : pm.current()->engine->rules())
    if (r.rule->name == "A") a = r.match_count();
  CHECK(a == 3);
}

namespace {
struct FakeKernel : KernelPolicyHook {
  std::string fail;
  std::vector<uint64_t> prepared, activated, discarded;
  std::expected<void, std::string> prepare(const ActivePolicy& next) override {
    if (!fail.empty()) return std::unexpected(fail);
    prepared.push_back(next.generation);
    return {};
  }
  void activate(const ActivePolicy& next) override { activated.push_back(next.generation); }
  void discard(const ActivePolicy& next) override { discarded.push_back(next.generation); }
  std::optional<Counters> counters(const ActivePolicy&, std::string_view) const override {
    return std::nullopt;
  }
};
}  // namespace

TEST_CASE("the kernel hook prepares before publishing, activates on adoption, can abort") {
  Dir d;
  FakeKernel k;
  PolicyManager pm({});
  REQUIRE(pm.load("p", {d.write("p.yaml", rule_file("A", "/a"))}));
  // Set at start, after the startup policy: it is prepared and activated.
  REQUIRE(pm.set_kernel_hook(&k));
  CHECK(k.prepared == std::vector<uint64_t>{1});
  CHECK(k.activated == std::vector<uint64_t>{1});
  REQUIRE(pm.unload("p"));
  REQUIRE(pm.load("p", {d.path + "/p.yaml"}));
  CHECK(k.prepared == std::vector<uint64_t>{1, 2, 3});
  CHECK(k.activated == std::vector<uint64_t>{1});  // not before the event thread takes it
  fire(pm, open_event("/a"));
  CHECK(k.activated == std::vector<uint64_t>{1, 3});
  CHECK(k.discarded == std::vector<uint64_t>{2});

  // Two changes before the event thread looks: the first is discarded.
  REQUIRE(pm.load("q", {d.write("q.yaml", rule_file("Q", "/q"))}));
  REQUIRE(pm.unload("q"));
  fire(pm, open_event("/a"));
  CHECK(k.discarded == std::vector<uint64_t>{2, 4});
  CHECK(k.activated == std::vector<uint64_t>{1, 3, 5});

  k.fail = "slot table full";
  auto r = pm.load("q", {d.path + "/q.yaml"});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::SwitchFailed);
  CHECK(r.error().message.find("slot table full") != std::string::npos);
  CHECK(fire(pm, open_event("/q")).empty());
  CHECK(pm.current()->generation == 5);
  CHECK(k.activated == std::vector<uint64_t>{1, 3, 5});
}

TEST_CASE("a change waits for the event thread; every event sees exactly one generation") {
  Dir d;
  auto f = d.write("p.yaml", rule_file("A", "/a"));
  PolicyManager pm({});
  REQUIRE(pm.load("p", {f}));
  fire(pm, open_event("/a"));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> fired{0}, events{0};
  std::thread event_thread([&] {
    while (!stop.load()) {
      fired += fire(pm, open_event("/a")).size();
      ++events;
    }
  });
  for (int i = 0; i < 20; ++i) {
    auto gen =
        i % 2 ? pm.load("p", {f}) : pm.load("other", {d.write("o.yaml", rule_file("O", "/o"))});
    REQUIRE(gen);
    CHECK(pm.wait_adopted(*gen, std::chrono::seconds(5)));
  }
  stop = true;
  event_thread.join();
  CHECK(fired.load() == events.load());  // rule A never missed an event
}

TEST_CASE("the kernel tables of a generation cover every policy, and each rule finds its slots") {
  Dir d;
  PolicyManager pm({});
  REQUIRE(pm.load("a", {d.write("a.yaml", rule_file("A1", "/a1") + rule_file("A2", "/a2"))}));
  REQUIRE(pm.load("b", {d.write("b.yaml", rule_file("B1", "/b1", "[off]"))}));
  REQUIRE(pm.load("c", {d.write("c.yaml", rule_file("C1", "/c1"))}));
  REQUIRE(pm.set_enabled({true, "off", false}));
  fire(pm, open_event("/x"));
  auto cur = pm.current();
  const pg::policy::Ruleset combined = combined_ruleset(*cur);
  REQUIRE(combined.rules.size() == 4);
  CHECK(combined.rules[2].name == "B1");
  CHECK_FALSE(combined.rules[2].enabled);  // the toggle reaches the tables
  const auto tables = pg::policy::build_filter_tables(combined);
  REQUIRE(tables.rule_slots.size() == 4);
  CHECK_FALSE(pg_slots_any(&tables.rule_slots[2]));  // a disabled rule owns no slot
  cur->engine->set_kernel_filter(tables, 7);
  size_t checked = 0;
  for (const auto& r : cur->engine->rules()) {
    size_t i = 0;
    while (combined.rules[i].name != r.rule->name) ++i;
    CHECK_MESSAGE(std::memcmp(&r.slots, &tables.rule_slots[i], sizeof(pg_slots)) == 0,
                  r.rule->name);
    CHECK(pg_slots_any(&r.slots));
    ++checked;
  }
  CHECK(checked == 3);  // A1, A2, C1
}

TEST_CASE("a policy's rules report uncaptured event types and fields without extractor") {
  Dir d;
  auto f = d.write("gaps.yaml",
                   "- rule: Recv\n  desc: d\n  condition: evt.type in (recvfrom, openat)\n"
                   "  output: \"recv %proc.vpgid.name\"\n  priority: WARNING\n");
  auto p = load_policy("gaps", {f});
  REQUIRE(p);
  std::set<pg::policy::Code> codes;
  for (const auto& diag : p->rules->diagnostics.all()) codes.insert(diag.code);
  CHECK(codes.contains(pg::policy::Code::EvttypeNotCaptured));
  CHECK(codes.contains(pg::policy::Code::FieldUnavailable));
  for (const auto& diag : p->rules->diagnostics.all()) CHECK(pg::policy::is_gap_warning(diag.code));
}
