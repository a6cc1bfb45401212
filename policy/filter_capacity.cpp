#include "policy/filter_capacity.h"

#include <fmt/format.h>

#include <array>

namespace pg::policy {
namespace {

enum Table { kStrs, kNums, kPaths, kTables };

int table_of(int field) {
  switch (field) {
    case PG_FF_COMM:
    case PG_FF_PCOMM:
      return kStrs;
    case PG_FF_UID:
    case PG_FF_PORT:
      return kNums;
    default:
      return kPaths;
  }
}

}  // namespace

std::vector<Diagnostic> check_filter_capacity(const Ruleset& rs, const FilterTables& t,
                                              const TableCapacity& cap) {
  struct Info {
    const char* map;
    const char* what;
    std::size_t needed, total;
  };
  const std::array<Info, kTables> tables{{
      {"pg_fstr", "process names", t.strs.size(), cap.strs},
      {"pg_fnum", "uids and ports", t.nums.size(), cap.nums},
      {"pg_fpath", "paths, prefixes and suffixes", t.paths.size(), cap.paths},
  }};
  std::vector<Diagnostic> out;
  for (int k = 0; k < kTables; ++k) {
    const Info& tb = tables[std::size_t(k)];
    if (tb.total == 0) continue;  // unknown capacity: not checked
    const std::size_t room = tb.total / PG_GENERATIONS;
    if (tb.needed <= room) continue;
    // The rule with the most entries in this map (its kernel half as lowered;
    // rules reduced to their event types have none).
    std::size_t worst = rs.rules.size(), worst_n = 0;
    for (std::size_t i = 0; i < rs.rules.size() && i < t.halves.size(); ++i) {
      if (std::find(t.collapsed.begin(), t.collapsed.end(), i) != t.collapsed.end()) continue;
      std::size_t n = 0;
      for (const auto& c : t.halves[i].clauses)
        for (const auto& l : c.literals)
          if (!l.enumerated() && table_of(l.field) == k) n += l.values.size() + l.prefixes.size();
      if (n > worst_n) {
        worst = i;
        worst_n = n;
      }
    }
    Diagnostic d{Code::ErrKernelCapacity, ItemType::None, "", Location{}, "", "", 0};
    std::string whose;
    if (worst < rs.rules.size()) {
      const Rule& r = rs.rules[worst];
      d.item_type = ItemType::Rule;
      d.item_name = r.name;
      d.loc = r.loc;
      whose = fmt::format("; this rule alone needs {}", worst_n);
    }
    d.message = fmt::format(
        "the kernel filter needs {} entries for {} ({}), but a policy generation has room for "
        "{} (the map holds {}; a reload writes the new generation beside the live one){}. Use "
        "fewer values: a common directory with 'startswith', or split the check into rules "
        "the daemon need not load together",
        tb.needed, tb.what, tb.map, room, tb.total, whose);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace pg::policy
