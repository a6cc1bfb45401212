#include "policy/filter_tables.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "policy/pathop_args.h"
#include "policy/syscall_args.h"

namespace pg::policy {

// ---- the evaluation code, compiled natively --------------------------------

#define PG_FL_CTX const NativeFilter*
static const pg_field_mask* pg_fl_mask(PG_FL_CTX ctx, __u32, __u32 field) {
  return ctx->mask(field);
}
static const pg_slots* pg_fl_kind(PG_FL_CTX ctx, __u32, __u32 kind) { return ctx->kind(kind); }
static const pg_slots* pg_fl_enum(PG_FL_CTX ctx, __u32, __u32 field, __u32 value) {
  return ctx->enum_value(field, value);
}
static const pg_slots* pg_fl_str(PG_FL_CTX ctx, const pg_fkey_str* k) { return ctx->str(*k); }
static const pg_slots* pg_fl_num(PG_FL_CTX ctx, const pg_fkey_num* k) { return ctx->num(*k); }
static const pg_slots* pg_fl_path(PG_FL_CTX ctx, const pg_fkey_path* k) { return ctx->path(*k); }
static __u32 pg_fl_container(PG_FL_CTX, const pg_filter_event* e) { return e->container; }
// One task verdict for every event, as if all came from one task whose
// facts keep changing: the differential test runs both the misses and the
// hits of the kernel's per-task cache.
static pg_task_slots* pg_fl_task_cache(PG_FL_CTX ctx, const pg_filter_event*) {
  return ctx->task_cache();
}
static const pg_proc_strs* pg_fl_proc(PG_FL_CTX ctx, const pg_filter_event*) { return ctx->proc(); }
static long pg_fl_resolve(PG_FL_CTX ctx, const pg_filter_event*, pg_fkey_path* fwd, __u32 len) {
  return ctx->resolve(fwd, len);
}
#include "kern/api/filter_eval.h"

namespace {

// Names of the filtered syscalls, in pg_fkind order (the catalogue's).
#define PG_FK_NAME_ROW(name, ...) #name,
constexpr std::array<std::string_view, PG_FK__COUNT> kKindNames{
    PG_OPEN_SYSCALLS(PG_FK_NAME_ROW) "connect",
    PG_PATHOP_SYSCALLS(PG_FK_NAME_ROW) PG_ARGS_SYSCALLS(PG_FK_NAME_ROW)};
#undef PG_FK_NAME_ROW

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

std::string_view filter_kind_name(uint32_t kind) {
  return kind < PG_FK__COUNT ? kKindNames[kind] : std::string_view{};
}

int filter_kind_of(std::string_view evt_type) {
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
    if (kKindNames[k] == evt_type) return int(k);
  return -1;
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
          std::binary_search(et.names.begin(), et.names.end(), std::string(kKindNames[k])))
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
      for (uint32_t k : kinds[i]) slot_set(t.kind[k], slot);
    }
  }

  // Per field: which slots use it, and the entries.
  for (std::size_t s = 0; s < t.slots.size(); ++s) {
    const KClause& c = t.slots[s].clause;
    for (int f = 0; f < PG_FF__COUNT; ++f) {
      if (!uses_field(c, f)) continue;
      slot_set(t.mask[f].uses, s);
      KLiteral probe;
      probe.field = f;
      bool absent = false;
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
      if (l.enumerated()) continue;
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

// ---- NativeFilter ----------------------------------------------------------

NativeFilter::NativeFilter(const FilterTables& t, uint32_t gen) : t_(t), gen_(gen) {
  for (const auto& [k, v] : t.paths) {
    std::string key(1, char(k.first));
    key += k.second;
    longest_ = std::max(longest_, key.size());
    trie_[key] = v;
  }
}

const pg_field_mask* NativeFilter::mask(uint32_t field) const {
  return field < PG_FF__COUNT ? &t_.mask[field] : nullptr;
}
const pg_slots* NativeFilter::kind(uint32_t kind) const {
  return kind < PG_FK__COUNT ? &t_.kind[kind] : nullptr;
}
const pg_slots* NativeFilter::enum_value(uint32_t field, uint32_t value) const {
  auto it = t_.enums.find(int(field));
  if (it == t_.enums.end() || value >= PG_ENUM_VALUES) return nullptr;
  return &it->second[value];
}
const pg_slots* NativeFilter::str(const pg_fkey_str& k) const {
  if (k.gen != gen_) return nullptr;
  auto it = t_.strs.find({int(k.field), std::string(k.value, strnlen(k.value, PG_COMM_LEN))});
  return it == t_.strs.end() ? nullptr : &it->second;
}
const pg_slots* NativeFilter::num(const pg_fkey_num& k) const {
  if (k.gen != gen_) return nullptr;
  auto it = t_.nums.find({int(k.field), k.value});
  return it == t_.nums.end() ? nullptr : &it->second;
}
const pg_slots* NativeFilter::path(const pg_fkey_path& k) const {
  // Longest stored prefix of {field, bytes}, as the LPM trie answers.
  if (k.gen != gen_ || k.prefixlen < 8 * PG_PATH_KEY_HDR) return nullptr;
  std::size_t n = k.prefixlen / 8 - PG_PATH_KEY_HDR;
  std::string key(1, char(k.field));
  key.append(reinterpret_cast<const char*>(k.path), n);
  for (std::size_t len = std::min(key.size(), longest_); len >= 1; --len) {
    auto it = trie_.find(key.substr(0, len));
    if (it != trie_.end()) return &it->second;
  }
  return nullptr;
}

long NativeFilter::resolve(pg_fkey_path* fwd, uint32_t len) const {
  if (!base_) return -1;
  std::string base(base_);
  std::string full = (base == "/" ? "" : base) + "/" + std::string(fwd->path, len);
  if (full.size() >= PG_PATH_KEY_MAX) return -1;
  std::memcpy(fwd->path, full.data(), full.size());
  fwd->path[full.size()] = 0;
  return long(full.size());
}

bool NativeFilter::eval(const pg_filter_event& e, const char* path, pg_slots& out, const char* base,
                        const pg_proc_strs* proc) const {
  base_ = base;
  proc_ = proc;
  // As bpf_probe_read_user_str(fwd.path, PG_PATH_KEY_MAX, path) would.
  struct {
    pg_fkey_path fwd, rev;  // the path scan may read a word past fwd, as in pg_fkeys
  } keys{};
  long len = -1;
  if (path) {
    std::size_t n = std::min<std::size_t>(std::strlen(path), PG_PATH_KEY_MAX - 1);
    std::memcpy(keys.fwd.path, path, n);
    keys.fwd.path[n] = 0;
    len = pg_path_len_from_read(long(n + 1));
  }
  return pg_filter_eval(this, gen_, &e, &keys.fwd, &keys.rev, len, &out) != 0;
}

}  // namespace pg::policy
