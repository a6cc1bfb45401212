// Lowering long disjunctions: linear in the number of terms, and the same
// kernel half the pairwise simplification gives.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "policy/dnf_merge.h"
#include "policy/lowering.h"
#include "selftests/unit/policy/helpers.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {

std::string or_chain(std::size_t n, const std::string& left, const std::string& prefix) {
  std::string c = "evt.type = openat and (";
  for (std::size_t i = 0; i < n; ++i)
    c += (i ? " or " : "") + left + " " + prefix + std::to_string(i);
  return c + ")";
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("lowering: 20,000 or-ed path equalities become one clause, in well under a second") {
  auto r = load_yaml(rule_yaml("big", or_chain(20000, "fd.name =", "/tmp/big/f")));
  REQUIRE(r.ok());
  const auto t = std::chrono::steady_clock::now();
  KernelHalf h = lower_rule(r.ruleset.rules.at(0));
  // Pairwise merging took 46 s here; the linear pass takes about 0.1 s.
  CHECK(seconds_since(t) < 3.0);
  REQUIRE(h.clauses.size() == 1);
  auto lits = h.clauses[0].literals;  // besides the clause's syscalls
  std::erase_if(lits, [](const KLiteral& l) { return l.field == kKindLiteral; });
  REQUIRE(lits.size() == 1);
  CHECK(lits[0].field == PG_FF_PATH);
  CHECK(lits[0].values.size() == 20000);
  CHECK_FALSE(h.coarsened);
}

TEST_CASE("lowering: or-ed conjunctions alike but for one literal merge at that literal") {
  std::string c = "evt.type = openat and (";
  for (int i = 0; i < 300; ++i)
    c += std::string(i ? " or " : "") + "(proc.name = cat and fd.name startswith /srv/d" +
         std::to_string(i) + "/)";
  c += ")";
  auto r = load_yaml(rule_yaml("alike", c));
  REQUIRE(r.ok());
  KernelHalf h = lower_rule(r.ruleset.rules.at(0));
  REQUIRE(h.clauses.size() == 1);
  auto lits = h.clauses[0].literals;  // besides the clause's syscalls
  std::erase_if(lits, [](const KLiteral& l) { return l.field == kKindLiteral; });
  REQUIRE(lits.size() == 2);
  std::size_t prefixes = 0, comms = 0;
  for (const auto& l : lits) {
    prefixes += l.prefixes.size();
    comms += l.values.size();
  }
  CHECK(prefixes == 300);
  CHECK(comms == 1);
}

TEST_CASE("merge_alike_clauses: keeps clauses that differ in two places, and negated sets") {
  auto lit = [](int field, bool neg, std::vector<std::string> v) {
    KLiteral l;
    l.field = field;
    l.negated = neg;
    l.values = std::move(v);
    return l;
  };
  std::vector<KClause> d;
  for (int i = 0; i < 10; ++i)
    d.push_back(KClause{{lit(PG_FF_COMM, false, {"c" + std::to_string(i)}),
                         lit(PG_FF_PATH, false, {"/p" + std::to_string(i)})}});
  for (int i = 0; i < 10; ++i)
    d.push_back(KClause{{lit(PG_FF_COMM, true, {"n" + std::to_string(i)})}});
  merge_alike_clauses(d);
  // (c_i and p_i) pairs differ in both literals; "not in" sets do not union.
  CHECK(d.size() == 20);
  // Equal clauses collapse.
  std::vector<KClause> same(12, KClause{{lit(PG_FF_UID, false, {"0"})}});
  merge_alike_clauses(same);
  REQUIRE(same.size() == 1);
  CHECK(same[0].literals[0].values == std::vector<std::string>{"0"});
}
