// LOAD_ERR_KERNEL_CAPACITY: a rule set whose kernel half needs more map
// entries than one generation (half the map) is refused at load, at the
// rule needing the most.
#include <doctest/doctest.h>

#include "selftests/unit/policy/helpers.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {

std::string paths_rule(const std::string& name, int n, const std::string& dir) {
  std::string items;
  for (int i = 0; i < n; ++i) items += (i ? ", " : "") + dir + "/f" + std::to_string(i);
  return rule_yaml(name, "evt.type = openat and fd.name in (" + items + ")");
}

LoadResult load_with(const std::string& yaml, TableCapacity cap) {
  LoadOptions o;
  o.kernel_capacity = cap;
  InputFile f{"big.yaml", yaml};
  return load_rules_from_memory({&f, 1}, o);
}

}  // namespace

TEST_CASE("LOAD_ERR_KERNEL_CAPACITY: more paths than half of pg_fpath, at the biggest rule") {
  const TableCapacity cap{100, 100, 100};
  // 30 + 40 paths fit the whole map (100) but not one generation (50).
  auto r = load_with(paths_rule("Small", 30, "/a") + paths_rule("Big", 40, "/b"), cap);
  const Diagnostic* d = find_diag(r, Code::ErrKernelCapacity);
  CAPTURE(all_diags(r));
  REQUIRE(d != nullptr);
  CHECK_FALSE(r.ok());
  CHECK(d->item_name == "Big");
  CHECK(d->loc.file == "big.yaml");
  CHECK(d->loc.line == 6);
  CHECK(d->message.find("70 entries") != std::string::npos);
  CHECK(d->message.find("pg_fpath") != std::string::npos);
  CHECK(d->message.find("room for 50") != std::string::npos);

  // One generation's share fits.
  auto ok = load_with(paths_rule("Small", 30, "/a") + paths_rule("Also small", 20, "/b"), cap);
  CHECK(ok.ok());
  // Without capacities nothing is checked.
  auto unchecked = load_yaml(paths_rule("Big", 400, "/b"));
  CHECK(unchecked.ok());
}

TEST_CASE("LOAD_ERR_KERNEL_CAPACITY: process names count against pg_fstr") {
  std::string names;
  for (int i = 0; i < 20; ++i) names += (i ? ", " : "") + std::string("p") + std::to_string(i);
  auto r = load_with(rule_yaml("Names", "evt.type = openat and proc.name in (" + names + ")"),
                     TableCapacity{16, 100, 100});
  const Diagnostic* d = find_diag(r, Code::ErrKernelCapacity);
  REQUIRE(d != nullptr);
  CHECK(d->item_name == "Names");
  CHECK(d->message.find("pg_fstr") != std::string::npos);
}
