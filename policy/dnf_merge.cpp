#include "policy/dnf_merge.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <unordered_map>

namespace pg::policy {
namespace {

// Whether the literal at a position can absorb another on its field by union.
bool mergeable(const KLiteral& l) { return l.enumerated() || !l.negated; }

bool same(const KLiteral& a, const KLiteral& b) {
  return a.field == b.field && a.negated == b.negated && a.accepts == b.accepts &&
         a.values == b.values && a.prefixes == b.prefixes;
}

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h << 7); }

uint64_t literal_hash(const KLiteral& l) {
  uint64_t h = mix(uint64_t(l.field) * 2 + (l.negated ? 1 : 0),
                   std::hash<std::bitset<PG_ENUM_VALUES>>{}(l.accepts));
  for (const auto& v : l.values) h = mix(h, std::hash<std::string>{}(v));
  h = mix(h, 0x9e3779b97f4a7c15ull);
  for (const auto& p : l.prefixes) h = mix(h, std::hash<std::string>{}(p));
  return h;
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

void merge_alike_clauses(std::vector<KClause>& d) {
  // Short disjunctions are left to the pairwise simplification.
  if (d.size() < 8) return;
  std::vector<std::vector<uint64_t>> lit_hash(d.size());
  for (std::size_t i = 0; i < d.size(); ++i)
    for (const auto& l : d[i].literals) lit_hash[i].push_back(literal_hash(l));

  // Key of clause i at position k: its size, k, the field there, and the
  // hashes of every other literal in order.
  auto key_of = [&](std::size_t i, std::size_t k) {
    const auto& lits = d[i].literals;
    uint64_t h = mix(lits.size(), k);
    h = mix(h, uint64_t(lits[k].field) * 2 + (lits[k].enumerated() ? 1 : 0));
    for (std::size_t m = 0; m < lits.size(); ++m)
      if (m != k) h = mix(h, lit_hash[i][m]);
    return h;
  };
  auto rest_equal = [&](std::size_t a, std::size_t b, std::size_t k) {
    const auto& x = d[a].literals;
    const auto& y = d[b].literals;
    if (x.size() != y.size() || x[k].field != y[k].field ||
        x[k].enumerated() != y[k].enumerated() || !mergeable(y[k]))
      return false;
    if (!x[k].enumerated() && (x[k].negated || y[k].negated)) return false;
    for (std::size_t m = 0; m < x.size(); ++m)
      if (m != k && (lit_hash[a][m] != lit_hash[b][m] || !same(x[m], y[m]))) return false;
    return true;
  };

  std::unordered_multimap<uint64_t, std::size_t> index;  // key → representative clause
  std::vector<char> dead(d.size(), 0);
  std::vector<int> merged_at(d.size(), -1);  // a representative grows only at one position
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto& lits = d[i].literals;
    bool absorbed = false;
    for (std::size_t k = 0; k < lits.size() && !absorbed; ++k) {
      if (!mergeable(lits[k])) continue;
      auto [lo, hi] = index.equal_range(key_of(i, k));
      for (auto it = lo; it != hi; ++it) {
        const std::size_t r = it->second;
        if (merged_at[r] >= 0 && merged_at[r] != int(k)) continue;
        if (!rest_equal(r, i, k)) continue;
        KLiteral& into = d[r].literals[k];
        KLiteral& from = d[i].literals[k];
        if (into.enumerated()) {
          into.accepts |= from.accepts;
        } else {
          into.values.insert(into.values.end(), std::make_move_iterator(from.values.begin()),
                             std::make_move_iterator(from.values.end()));
          into.prefixes.insert(into.prefixes.end(), std::make_move_iterator(from.prefixes.begin()),
                               std::make_move_iterator(from.prefixes.end()));
        }
        into.text.insert(into.text.end(), std::make_move_iterator(from.text.begin()),
                         std::make_move_iterator(from.text.end()));
        merged_at[r] = int(k);
        dead[i] = 1;
        absorbed = true;
        break;
      }
    }
    if (absorbed) continue;
    for (std::size_t k = 0; k < lits.size(); ++k)
      if (mergeable(lits[k])) index.emplace(key_of(i, k), i);
  }

  std::vector<KClause> out;
  out.reserve(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (dead[i]) continue;
    if (merged_at[i] >= 0) {
      KLiteral& l = d[i].literals[std::size_t(merged_at[i])];
      sort_unique(l.values);
      sort_unique(l.prefixes);
    }
    out.push_back(std::move(d[i]));
  }
  d = std::move(out);
}

}  // namespace pg::policy
