#include "policy/filter_tables.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "policy/pathop_args.h"
#include "policy/syscall_args.h"

namespace pg::policy {

namespace {

bool clause_equal(const KClause& a, const KClause& b) { return to_string(a) == to_string(b); }

// Fields judged by a lookup in the pg_fpath trie.
bool is_trie_field(int f) {
  return f == PG_FF_PATH || f == PG_FF_SUFFIX || f == PG_FF_ARG || f == PG_FF_EXE ||
         f == PG_FF_ARGS;
}

// Does literal `l` hold for a value-set key (nullptr: a value in no set)?
bool holds_value(const KLiteral& l, const std::string* key) {
  bool in = key && std::binary_search(l.values.begin(), l.values.end(), *key);
  return in != l.negated;
}

// Does path literal `l` hold when the trie's longest match is `entry`
// (nullptr: no entry matched)? See filter.h: an exact entry is the whole
// path; a prefix entry is the longest stored prefix of it.
bool holds_path(const KLiteral& l, const std::string* entry) {
  bool r = false;
  if (entry) {
    bool exact = !entry->empty() && entry->back() == '\0';
    std::string s = exact ? entry->substr(0, entry->size() - 1) : *entry;
    if (l.field == PG_FF_SUFFIX) std::reverse(s.begin(), s.end());
    if (exact && std::binary_search(l.values.begin(), l.values.end(), s)) r = true;
    for (const auto& p : l.prefixes) {
      if (l.field == PG_FF_SUFFIX ? s.ends_with(p) : s.starts_with(p)) r = true;
    }
  }
  return r != l.negated;
}

template <class Holds>
bool clause_holds_on(const KClause& c, int field, Holds holds) {
  for (const auto& l : c.literals)
    if (l.field == field && !holds(l)) return false;
  return true;
}

bool uses_field(const KClause& c, int field) {
  return std::any_of(c.literals.begin(), c.literals.end(),
                     [&](const KLiteral& l) { return l.field == field; });
}

}  // namespace

pg_needles needle_table(const std::vector<std::string>& needles) {
  pg_needles n{};
  n.count = uint32_t(std::min<std::size_t>(needles.size(), PG_NEEDLES));
  for (uint32_t i = 0; i < n.count; ++i) {
    const std::string& s = needles[i];
    n.len[i] = uint32_t(std::min<std::size_t>(s.size(), PG_NEEDLE_MAX));
    for (uint32_t b = 0; b < n.len[i]; ++b) {
      n.word[i][b / 8] |= uint64_t(uint8_t(s[b])) << (8 * (b % 8));
      n.mask[i][b / 8] |= uint64_t(0xff) << (8 * (b % 8));
    }
  }
  return n;
}

FilterTables build_filter_tables(const Ruleset& rs, const LoweringOptions& o) {
  FilterTables t;
  const auto& rules = rs.rules;
  t.halves.reserve(rules.size());
  for (const auto& r : rules) t.halves.push_back(lower_rule(r, o));

  // The filtered syscalls each rule can match, and the lifecycle events.
  std::vector<std::vector<uint32_t>> kinds(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].enabled || rules[i].source != EventSource::Syscall) continue;
    const auto& et = rules[i].event_types;
    auto names = [&](std::initializer_list<const char*> ns) {
      return et.all || std::any_of(ns.begin(), ns.end(), [&](const char* n) {
               return std::binary_search(et.names.begin(), et.names.end(), std::string(n));
             });
    };
    if (names({"clone", "clone3", "fork", "vfork"})) t.eager |= PG_EAGER_FORK;
    if (names({"procexit"})) t.eager |= PG_EAGER_EXIT;
    for (uint32_t k = 0; k < PG_FK__COUNT; ++k) {
      const auto& et = rules[i].event_types;
      if (et.all ||
          std::binary_search(et.names.begin(), et.names.end(), std::string(filter_kind_name(k))))
        kinds[i].push_back(k);
    }
  }

  // Distinct clauses get slots; over PG_SLOTS, the rules with the most
  // clauses fall back to their event types alone (one shared "true" clause).
  std::vector<std::vector<KClause>> clauses(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (!kinds[i].empty()) clauses[i] = t.halves[i].clauses;
  auto distinct = [&] {
    std::set<std::string> seen;
    for (const auto& cs : clauses)
      for (const auto& c : cs) seen.insert(to_string(c));
    return seen.size();
  };
  auto collapsed = [&](std::size_t i) {
    return clauses[i].size() == 1 && clauses[i][0].literals.empty();
  };
  while (distinct() > PG_SLOTS) {
    std::size_t widest = rules.size();
    for (std::size_t i = 0; i < rules.size(); ++i)
      if (!clauses[i].empty() && !collapsed(i) &&
          (widest == rules.size() || clauses[i].size() > clauses[widest].size()))
        widest = i;
    clauses[widest] = {KClause{}};
    t.collapsed.push_back(widest);
  }

  t.rule_slots.assign(rules.size(), pg_slots{});
  for (std::size_t i = 0; i < rules.size(); ++i) {
    for (const auto& c : clauses[i]) {
      auto it = std::find_if(t.slots.begin(), t.slots.end(),
                             [&](const Slot& s) { return clause_equal(s.clause, c); });
      if (it == t.slots.end()) {
        t.slots.push_back(Slot{c, {}});
        it = t.slots.end() - 1;
      }
      std::size_t slot = std::size_t(it - t.slots.begin());
      it->rules.push_back(i);
      slot_set(t.rule_slots[i], slot);
      // The clause's own event types, when it names them, among the rule's.
      auto only = std::find_if(c.literals.begin(), c.literals.end(),
                               [](const KLiteral& l) { return l.field == kKindLiteral; });
      for (uint32_t k : kinds[i])
        if (only == c.literals.end() || only->accepts[k]) slot_set(t.kind[k], slot);
    }
  }

  // Each needle field's needles, in order of first use, as many as the
  // kernel searches; a literal with one beyond them is not judged.
  for (int f : {PG_FF_PATH_NEEDLE, PG_FF_ARG_NEEDLE}) {
    auto& ns = t.needles[f];
    for (const auto& slot : t.slots)
      for (const auto& l : slot.clause.literals)
        if (l.field == f)
          for (const auto& v : l.values)
            if (ns.size() < PG_NEEDLES && std::find(ns.begin(), ns.end(), v) == ns.end())
              ns.push_back(v);
    t.needle_tables[f] = needle_table(ns);
  }
  // The needle bits of a literal; nullopt when one has none.
  auto needle_bits = [&](const KLiteral& l) -> std::optional<uint32_t> {
    const auto& ns = t.needles[l.field];
    uint32_t bits = 0;
    for (const auto& v : l.values) {
      auto it = std::find(ns.begin(), ns.end(), v);
      if (it == ns.end()) return std::nullopt;
      bits |= 1u << (it - ns.begin());
    }
    return bits;
  };
  auto is_needle_field = [](int f) { return f == PG_FF_PATH_NEEDLE || f == PG_FF_ARG_NEEDLE; };

  // Per field: which slots use it, and the entries.
  for (std::size_t s = 0; s < t.slots.size(); ++s) {
    const KClause& c = t.slots[s].clause;
    for (int f = 0; f < PG_FF__COUNT; ++f) {
      if (!uses_field(c, f)) continue;
      if (!is_needle_field(f)) slot_set(t.mask[f].uses, s);
      KLiteral probe;
      probe.field = f;
      bool absent = false;
      if (is_needle_field(f)) {
        // The value is the set of needles found: a literal holds when it
        // finds one of its own (or, negated, none).
        std::vector<std::pair<uint32_t, bool>> judged;
        for (const auto& l : c.literals)
          if (l.field == f)
            if (auto bits = needle_bits(l)) judged.push_back({*bits, l.negated});
        if (judged.empty()) continue;
        slot_set(t.mask[f].uses, s);
        auto& arr = t.enums[f];
        for (uint32_t v = 0; v < PG_ENUM_VALUES; ++v)
          if (std::all_of(judged.begin(), judged.end(),
                          [&](const auto& j) { return ((v & j.first) != 0) != j.second; }))
            slot_set(arr[v], s);
        continue;
      }
      if (f == PG_FF_IMAGE) {
        // No verdict (yet) for the image: the field narrows nothing.
        slot_set(t.mask[f].absent_pass, s);
        for (const auto& l : c.literals) {
          if (l.field != f) continue;
          const std::string text = to_string(l);
          auto it = std::find_if(t.images.begin(), t.images.end(),
                                 [&](const FilterTables::ImageTest& i) { return i.text == text; });
          if (it == t.images.end()) it = t.images.insert(t.images.end(), {*l.image, text, {}});
          slot_set(it->slots, s);
        }
        continue;
      }
      if (probe.enumerated()) {
        auto& arr = t.enums[f];
        for (uint32_t v = 0; v < PG_ENUM_VALUES; ++v)
          if (clause_holds_on(c, f, [&](const KLiteral& l) { return l.accepts[v]; }))
            slot_set(arr[v], s);
        continue;  // every value has an entry
      }
      if (is_trie_field(f))
        absent = clause_holds_on(c, f, [](const KLiteral& l) { return holds_path(l, nullptr); });
      else
        absent = clause_holds_on(c, f, [](const KLiteral& l) { return holds_value(l, nullptr); });
      if (absent) slot_set(t.mask[f].absent_pass, s);
    }
  }
  // Keys of the keyed fields: every value any literal names.
  std::set<std::pair<int, std::string>> value_keys, path_keys;
  for (const auto& slot : t.slots)
    for (const auto& l : slot.clause.literals) {
      if (l.enumerated() || l.field == PG_FF_IMAGE || is_needle_field(l.field)) continue;
      if (is_trie_field(l.field)) {
        for (const auto& v : l.values) path_keys.insert({l.field, v + '\0'});
        for (const auto& p : l.prefixes)
          path_keys.insert(
              {l.field, l.field == PG_FF_SUFFIX ? std::string(p.rbegin(), p.rend()) : p});
      } else {
        for (const auto& v : l.values) value_keys.insert({l.field, v});
      }
    }
  // (Entries by reference, not structured bindings: clang 14, which the
  // libFuzzer build uses, cannot capture bindings in a lambda.)
  for (const auto& entry : value_keys) {
    const int f = entry.first;
    const std::string& key = entry.second;
    pg_slots acc{};
    for (std::size_t s = 0; s < t.slots.size(); ++s)
      if (slot_test(t.mask[f].uses, s) &&
          clause_holds_on(t.slots[s].clause, f,
                          [&](const KLiteral& l) { return holds_value(l, &key); }))
        slot_set(acc, s);
    if (f == PG_FF_UID || f == PG_FF_PORT)
      t.nums[{f, std::stoull(key)}] = acc;
    else
      t.strs[{f, key}] = acc;
  }
  for (const auto& entry : path_keys) {
    const int f = entry.first;
    const std::string& key = entry.second;
    pg_slots acc{};
    for (std::size_t s = 0; s < t.slots.size(); ++s)
      if (slot_test(t.mask[f].uses, s) &&
          clause_holds_on(t.slots[s].clause, f,
                          [&](const KLiteral& l) { return holds_path(l, &key); }))
        slot_set(acc, s);
    t.paths[{f, key}] = acc;
  }
  return t;
}

}  // namespace pg::policy
