#include "policy/lowering.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <set>

#include "policy/dnf_merge.h"
#include "policy/fields.h"
#include "policy/pathop_args.h"

namespace pg::policy {
namespace {

// Names of the filtered syscalls, in pg_fkind order (the catalogue's).
#define PG_FK_NAME_ROW(name, ...) #name,
constexpr std::array<std::string_view, PG_FK__COUNT> kKindNames{
    PG_OPEN_SYSCALLS(PG_FK_NAME_ROW) "connect",
    PG_PATHOP_SYSCALLS(PG_FK_NAME_ROW) PG_ARGS_SYSCALLS(PG_FK_NAME_ROW)};
#undef PG_FK_NAME_ROW

using Dnf = std::vector<KClause>;  // empty: false; {{}}: true

Dnf dnf_true() { return Dnf{KClause{}}; }
bool is_true(const Dnf& d) { return d.size() == 1 && d[0].literals.empty(); }

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

std::vector<std::string> set_op(const std::vector<std::string>& a,
                                const std::vector<std::string>& b, char op) {
  std::vector<std::string> out;
  if (op == '&')
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  else if (op == '|')
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  else
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool is_value_set_field(int f) {
  return f == PG_FF_COMM || f == PG_FF_PCOMM || f == PG_FF_UID || f == PG_FF_PORT;
}

// ---- literal evaluation over candidate values ------------------------------
//
// Enumerated fields are lowered by asking, for every value of the field's
// small domain, whether some event with that value can satisfy the literal.

std::optional<bool> str_op(Op op, const std::vector<Value>& vals, std::string_view s) {
  auto any = [&](auto pred) {
    return std::any_of(vals.begin(), vals.end(), [&](const Value& v) { return pred(v.text); });
  };
  switch (op) {
    case Op::Eq:
    case Op::In:
      return any([&](const std::string& v) { return s == v; });
    case Op::Ne:
      return !any([&](const std::string& v) { return s == v; });
    case Op::StartsWith:
      return any([&](const std::string& v) { return s.starts_with(v); });
    case Op::EndsWith:
      return any([&](const std::string& v) { return s.ends_with(v); });
    case Op::Contains:
      return any([&](const std::string& v) { return s.find(v) != std::string_view::npos; });
    case Op::Glob:
      return any(
          [&](const std::string& v) { return fnmatch(v.c_str(), std::string(s).c_str(), 0) == 0; });
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> int_op(Op op, const std::vector<Value>& vals, int64_t x) {
  std::vector<int64_t> ns;
  for (const auto& v : vals) {
    auto n = to_int(v.text);
    if (!n) return std::nullopt;
    ns.push_back(*n);
  }
  if (ns.empty()) return std::nullopt;
  auto any = [&](auto pred) { return std::any_of(ns.begin(), ns.end(), pred); };
  switch (op) {
    case Op::Eq:
    case Op::In:
      return any([&](int64_t n) { return x == n; });
    case Op::Ne:
      return x != ns[0];
    case Op::Lt:
      return x < ns[0];
    case Op::Le:
      return x <= ns[0];
    case Op::Gt:
      return x > ns[0];
    case Op::Ge:
      return x >= ns[0];
    default:
      return std::nullopt;
  }
}

// Does some integer in [lo, hi] satisfy (or, negated, fail) the comparison?
// Comparisons are unions of intervals whose ends are the constants, so the
// constants, their neighbours and the range ends are enough to try.
std::optional<bool> int_exists(Op op, const std::vector<Value>& vals, bool negated, int64_t lo,
                               int64_t hi) {
  std::vector<int64_t> cand{lo, hi};
  for (const auto& v : vals)
    if (auto n = to_int(v.text))
      for (int64_t d : {-1, 0, 1})
        if (*n + d >= lo && *n + d <= hi) cand.push_back(*n + d);
  for (int64_t x : cand) {
    auto r = int_op(op, vals, x);
    if (!r) return std::nullopt;
    if (*r != negated) return true;
  }
  return false;
}

// Open-class literal: does some open event of class `c` satisfy it?
std::optional<bool> class_may(const FieldRef& f, Op op, const std::vector<Value>& vals,
                              bool negated, uint32_t c) {
  const bool failed = c & PG_OC_FAILED;
  const uint32_t acc = c & PG_OC_ACCMODE;
  auto boolean = [&](bool actual) -> std::optional<bool> {
    if (vals.size() != 1 || (op != Op::Eq && op != Op::Ne)) return std::nullopt;
    const std::string& t = vals[0].text;
    bool want;
    if (t == "true")
      want = true;
    else if (t == "false")
      want = false;
    else
      return std::nullopt;
    bool r = (actual == want) == (op == Op::Eq);
    return r != negated;
  };
  auto string_exact = [&](std::string_view actual) -> std::optional<bool> {
    auto r = str_op(op, vals, actual);
    if (!r) return std::nullopt;
    return *r != negated;
  };
  const std::string& n = f.name;
  if (n == "evt.is_open_read") return boolean(acc != PG_O_WRONLY);
  if (n == "evt.is_open_write") return boolean(acc != 0);
  if (n == "evt.is_open_exec") return boolean(c & PG_OC_PATH);
  if (n == "evt.is_open_create") return boolean(c & PG_OC_CREAT);
  if (n == "evt.failed") return boolean(failed);
  if (n == "fd.typechar") return string_exact((c & PG_OC_DIRECTORY) ? "d" : "f");
  if (n == "fd.type") return string_exact((c & PG_OC_DIRECTORY) ? "directory" : "file");
  if (n == "fd.num") {
    if (failed) {
      auto r = int_op(op, vals, -1);
      if (!r) return std::nullopt;
      return *r != negated;
    }
    return int_exists(op, vals, negated, 0, INT32_MAX);
  }
  if (n == "evt.rawres")
    return failed ? int_exists(op, vals, negated, -4095, -1)
                  : int_exists(op, vals, negated, 0, INT32_MAX);
  if (n == "evt.res") {
    if (!failed) return string_exact("SUCCESS");
    // Some error name: try a few, and the constants themselves.
    std::vector<std::string> cand{"EPERM", "ENOENT", "EACCES", "EEXIST", "ENOTDIR", "ELOOP"};
    for (const auto& v : vals)
      if (v.text != "SUCCESS") cand.push_back(v.text);
    for (const auto& s : cand) {
      auto r = string_exact(s);
      if (!r) return std::nullopt;
      if (*r) return true;
    }
    return false;
  }
  if ((n == "evt.arg" || n == "evt.rawarg") && f.arg == "flags" && n == "evt.arg" &&
      op == Op::Contains && vals.size() == 1) {
    // Only names that no other flag name contains, and that the class
    // decides: the access mode and the class's own bits.
    const std::string& t = vals[0].text;
    std::optional<bool> has;
    if (t == "O_RDONLY") has = acc == 0 || acc == 3;
    if (t == "O_WRONLY") has = acc == PG_O_WRONLY;
    if (t == "O_RDWR") has = acc == PG_O_RDWR;
    if (t == "O_CREAT") has = (c & PG_OC_CREAT) != 0;
    if (t == "O_TRUNC") has = (c & PG_OC_TRUNC) != 0;
    if (t == "O_PATH") has = (c & PG_OC_PATH) != 0;
    if (!has) return std::nullopt;
    return *has != negated;
  }
  return std::nullopt;
}

// Connect family literal: fd.typechar / fd.type of a connect's socket.
std::optional<bool> family_may(const FieldRef& f, Op op, const std::vector<Value>& vals,
                               bool negated, uint32_t fam) {
  static constexpr const char* kChar[] = {nullptr, "u", "4", "6"};
  static constexpr const char* kType[] = {nullptr, "unix", "ipv4", "ipv6"};
  const char* actual = f.name == "fd.typechar" ? kChar[fam] : kType[fam];
  if (!actual) return negated;  // <NA>: the comparison is false
  auto r = str_op(op, vals, actual);
  if (!r) return std::nullopt;
  return *r != negated;
}

// ---- literal mapping ----------------------------------------------------

// What a glob pattern (fnmatch without flags, as the engine matches it)
// fixes: every match starts with `prefix` and ends with `suffix`; a
// pattern with no special character matches only itself (`exact`).
struct GlobParts {
  std::string prefix, suffix;
  bool exact = false;
};

GlobParts glob_parts(std::string_view g) {
  auto special = [](char c) { return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\'; };
  GlobParts out;
  std::size_t i = 0;
  while (i < g.size() && !special(g[i])) ++i;
  out.prefix = std::string(g.substr(0, i));
  if (i == g.size()) {
    out.exact = true;
    return out;
  }
  std::size_t j = g.size();
  while (j > i && !special(g[j - 1])) --j;
  out.suffix = std::string(g.substr(j));
  return out;
}

bool clean_abs_path(std::string_view p) {
  if (p.size() + 1 > PG_PATH_KEY_MAX) return false;
  // pg_path_facts reads whole words past the NUL.
  char buf[PG_PATH_KEY_MAX + 16] = {};
  std::memcpy(buf, p.data(), p.size());
  return pg_path_facts(buf, uint32_t(p.size())) & PG_PF_CLEAN;
}

struct Lowering {
  std::size_t max_clauses;
  const LoweringOptions& opts;
  // The rule's syscalls when every one is a path operation (else empty):
  // then evt.arg.NAME is the kernel's first path argument if NAME names it
  // for each of them.
  std::vector<uint16_t> pathops;
  bool coarsened = false;
  std::vector<std::string> residue;

  bool is_first_path_arg(const FieldRef& f) const {
    return f.name == "evt.arg" && f.arg && !pathops.empty() &&
           std::all_of(pathops.begin(), pathops.end(),
                       [&](uint16_t k) { return pathop_arg(k, *f.arg) == PathOpArg::Path1; });
  }

  Dnf unknown(const Node& n, bool negated) {
    std::string t = (negated ? "not " : "") + to_string(n);
    if (std::find(residue.begin(), residue.end(), t) == residue.end()) residue.push_back(t);
    return dnf_true();
  }

  static Dnf one(std::vector<KLiteral> lits) {
    KClause c;
    c.literals = std::move(lits);
    return Dnf{std::move(c)};
  }

  // An enumerated-field literal, built by trying every domain value.
  template <class May>
  static std::optional<KLiteral> enumerate(int field, uint32_t domain, May may) {
    KLiteral lit;
    lit.field = field;
    for (uint32_t v = 0; v < domain; ++v) {
      std::optional<bool> r = may(v);
      if (!r) return std::nullopt;
      lit.accepts[v] = *r;
    }
    for (uint32_t v = domain; v < PG_ENUM_VALUES; ++v) lit.accepts[v] = true;
    return lit;
  }

  // evt.type as the set of filtered syscalls it holds for (others are not
  // judged by the kernel filter, so the literal says nothing of them).
  Dnf kinds(const Node& n, bool negated) {
    if (n.rhs == RhsKind::Field || n.rhs == RhsKind::None || !n.field.transformers.empty())
      return dnf_true();
    auto lit = enumerate(kKindLiteral, PG_FK__COUNT, [&](uint32_t k) -> std::optional<bool> {
      auto r = str_op(n.op, n.values, filter_kind_name(k));
      if (!r) return std::nullopt;
      return *r != negated;
    });
    if (!lit) return dnf_true();
    lit->text = {(negated ? "not " : "") + to_string(n)};
    return one({*lit});
  }

  Dnf compare(const Node& n, bool negated) {
    const FieldRef& f = n.field;
    const std::string text = (negated ? "not " : "") + to_string(n);
    if (f.name == "evt.type" || f.name == "syscall.type") return kinds(n, negated);
    if (!f.transformers.empty() || f.is_call() || n.rhs == RhsKind::Field ||
        n.rhs == RhsKind::None)
      return unknown(n, negated);
    const auto& vals = n.values;
    std::vector<KLiteral> lits;

    // Enumerated facts of opens and connects.
    auto cls = enumerate(PG_FF_CLASS, PG_ENUM_VALUES,
                         [&](uint32_t c) { return class_may(f, n.op, vals, negated, c); });
    if (cls) lits.push_back(*cls);
    if (f.name == "fd.typechar" || f.name == "fd.type") {
      auto fam = enumerate(PG_FF_FAMILY, 4,
                           [&](uint32_t v) { return family_may(f, n.op, vals, negated, v); });
      if (fam) lits.push_back(*fam);
    }
    if (f.name == "container.id" && (n.op == Op::Eq || n.op == Op::In || n.op == Op::Ne)) {
      // Outside containers the id is "host"; inside, 12 hex digits the
      // kernel does not know, so only a set of "host" alone decides there.
      const bool only_host =
          std::all_of(vals.begin(), vals.end(), [](const Value& v) { return v.text == "host"; });
      auto ct = enumerate(PG_FF_CONTAINER, PG_CT_UNKNOWN, [&](uint32_t v) -> std::optional<bool> {
        if (v == PG_CT_HOST) {
          auto r = str_op(n.op, vals, "host");
          if (!r) return std::nullopt;
          return *r != negated;
        }
        if (!only_host) return true;
        return (n.op == Op::Ne) != negated;
      });
      if (ct) lits.push_back(*ct);
    }
    // A flag of the process's exec, kept with its proc.exe (pg_fproc).
    const bool booleans = std::all_of(vals.begin(), vals.end(), [](const Value& v) {
      return v.text == "true" || v.text == "false";
    });
    if (f.name == "proc.is_exe_from_memfd" && booleans &&
        (n.op == Op::Eq || n.op == Op::In || n.op == Op::Ne)) {
      auto mf = enumerate(PG_FF_MEMFD, 2, [&](uint32_t v) -> std::optional<bool> {
        auto r = str_op(n.op, vals, v ? "true" : "false");
        if (!r) return std::nullopt;
        return *r != negated;
      });
      if (mf) lits.push_back(*mf);
    }
    if (f.name == "fd.nameraw" && n.op == Op::Contains && vals.size() == 1 &&
        vals[0].text == "../") {
      KLiteral lit;
      lit.field = PG_FF_RAW;
      lit.accepts.set();
      lit.accepts[negated ? 1 : 0] = false;
      lits.push_back(lit);
    }

    // Value sets: comm, parent comm, uid, remote port.
    int set_field = f.name == "proc.name"                            ? PG_FF_COMM
                    : f.name == "proc.pname"                         ? PG_FF_PCOMM
                    : f.name == "user.uid"                           ? PG_FF_UID
                    : (f.name == "fd.sport" || f.name == "fd.rport") ? PG_FF_PORT
                                                                     : -1;
    // user.name as the uids the host's user database gives those names:
    // userspace names a uid the same way, so "in" and "not in" carry over.
    if (f.name == "user.name" && opts.uids_named &&
        (n.op == Op::Eq || n.op == Op::In || n.op == Op::Ne)) {
      KLiteral lit;
      lit.field = PG_FF_UID;
      lit.negated = negated != (n.op == Op::Ne);
      std::vector<std::string> names;
      for (const auto& v : vals) names.push_back(v.text);
      for (uint32_t uid : opts.uids_named(names)) lit.values.push_back(std::to_string(uid));
      sort_unique(lit.values);
      if (!lit.negated && lit.values.empty()) return Dnf{};  // no such user: never true
      if (lit.negated && lit.values.empty()) return dnf_true();
      lits.push_back(lit);
    }
    if (set_field >= 0 && (n.op == Op::Eq || n.op == Op::In || n.op == Op::Ne)) {
      bool neg = negated != (n.op == Op::Ne);
      KLiteral lit;
      lit.field = set_field;
      lit.negated = neg;
      bool ok = true;
      for (const auto& v : vals) {
        std::string s = v.text;
        if (set_field == PG_FF_UID || set_field == PG_FF_PORT) {
          auto num = to_int(s);
          if (!num || *num < 0 || (set_field == PG_FF_PORT && *num > 65535)) {
            ok = false;
            break;
          }
          s = std::to_string(*num);
        } else if (s.empty() && neg) {
          continue;  // an empty parent name is <NA> in userspace
        } else if (s.size() > PG_COMM_LEN - 1) {
          // The kernel keeps 15 characters. A longer name never equals a
          // comm: "in" may keep its truncation (wider), "not in" drops it.
          if (neg) continue;
          s.resize(PG_COMM_LEN - 1);
        }
        lit.values.push_back(s);
      }
      sort_unique(lit.values);
      if (ok && !(neg && lit.values.empty()))
        lits.push_back(lit);
      else if (ok)
        return dnf_true();  // "not in" nothing: always true
    }

    // A glob on an open's path: its literal start and end.
    if (f.name == "fd.name" && n.op == Op::Glob && !negated && vals.size() == 1) {
      const GlobParts g = glob_parts(vals[0].text);
      KLiteral pre, suf;
      pre.field = PG_FF_PATH;
      suf.field = PG_FF_SUFFIX;
      if (g.exact && clean_abs_path(g.prefix)) pre.values.push_back(g.prefix);
      if (!g.exact && g.prefix.size() > 1 && g.prefix.size() + 1 <= PG_PATH_KEY_MAX)
        pre.prefixes.push_back(g.prefix);
      if (!g.exact && !g.suffix.empty() && g.suffix.size() + 1 <= PG_PATH_KEY_MAX)
        suf.prefixes.push_back(g.suffix);
      if (!pre.values.empty() || !pre.prefixes.empty()) lits.push_back(pre);
      if (!suf.prefixes.empty()) lits.push_back(suf);
    }

    // Paths of opens.
    if (f.name == "fd.name" || f.name == "fd.directory" || f.name == "fd.filename") {
      KLiteral lit;
      lit.field = PG_FF_PATH;
      bool ok = true, toplevel = false;
      bool neg = negated;
      Op op = n.op;
      if (op == Op::Ne) {
        op = Op::Eq;
        neg = !neg;
      }
      for (const auto& v : vals) {
        const std::string& s = v.text;
        if (f.name == "fd.name" && (op == Op::Eq || op == Op::In)) {
          ok = ok && clean_abs_path(s);
          lit.values.push_back(s);
        } else if (f.name == "fd.name" && !neg && (op == Op::StartsWith || op == Op::PMatch)) {
          ok = ok && s.size() + 1 <= PG_PATH_KEY_MAX;
          lit.prefixes.push_back(s);
        } else if (f.name == "fd.name" && op == Op::StartsWith) {
          ok = ok && s.size() + 1 <= PG_PATH_KEY_MAX;
          lit.prefixes.push_back(s);
        } else if (f.name == "fd.name" && op == Op::EndsWith) {
          lit.field = PG_FF_SUFFIX;
          ok = ok && !s.empty() && s.size() + 1 <= PG_PATH_KEY_MAX;
          lit.prefixes.push_back(s);
        } else if (f.name == "fd.directory" && !neg && (op == Op::Eq || op == Op::In) &&
                   vals.size() == 1 && s == "/") {
          toplevel = true;  // "/x": a fact of its own, not the prefix "/" of every path
        } else if (f.name == "fd.directory" && !neg && (op == Op::Eq || op == Op::In)) {
          std::string p = s == "/" ? s : s + "/";
          ok = ok && p.size() + 1 <= PG_PATH_KEY_MAX;
          lit.prefixes.push_back(p);
        } else if (f.name == "fd.filename" && !neg && (op == Op::Eq || op == Op::In)) {
          lit.field = PG_FF_SUFFIX;
          ok = ok && s.find('/') == std::string::npos && s.size() + 2 <= PG_PATH_KEY_MAX;
          lit.prefixes.push_back("/" + s);
        } else {
          ok = false;
        }
      }
      // Exact and prefix sets on one literal: in the same trie.
      if (lit.field == PG_FF_SUFFIX && !lit.values.empty()) ok = false;
      if (ok && toplevel) {
        KLiteral top;
        top.field = PG_FF_TOPLEVEL;
        top.accepts.set();
        top.accepts[0] = false;
        lits.push_back(top);
      } else if (ok && !vals.empty()) {
        lit.negated = neg;
        sort_unique(lit.values);
        sort_unique(lit.prefixes);
        lits.push_back(lit);
      }
    }

    // Strings judged exactly or by prefix in the trie, up to max_len bytes.
    auto exact_or_prefix = [&](int field, size_t max_len, bool pmatch) {
      KLiteral lit;
      lit.field = field;
      bool neg = negated;
      Op op = n.op;
      if (op == Op::Ne) {
        op = Op::Eq;
        neg = !neg;
      }
      bool ok = !vals.empty();
      for (const auto& v : vals) {
        ok = ok && v.text.size() <= max_len;
        if (op == Op::Eq || op == Op::In) {
          lit.values.push_back(v.text);
        } else if (!neg && (op == Op::StartsWith || (pmatch && op == Op::PMatch))) {
          lit.prefixes.push_back(v.text);
        } else if (!neg && op == Op::Glob && vals.size() == 1) {
          const GlobParts g = glob_parts(v.text);
          if (g.exact)
            lit.values.push_back(g.prefix);
          else if (!g.prefix.empty())
            lit.prefixes.push_back(g.prefix);
          else
            ok = false;
        } else {
          ok = false;
        }
      }
      if (ok) {
        lit.negated = neg;
        sort_unique(lit.values);
        sort_unique(lit.prefixes);
        lits.push_back(lit);
      }
    };
    // The first path argument of path operations. Its value is the string
    // as passed (a symlink's target) or, for names of files, what userspace
    // resolves it to; the kernel judges the latter only when the argument
    // is already absolute and normalised, so the same strings serve both.
    if (is_first_path_arg(f)) exact_or_prefix(PG_FF_ARG, PG_PATH_KEY_MAX - 1, true);
    // proc.exe and proc.args as the process's exec set them: the kernel
    // keeps their first PG_PROC_STR - 1 bytes (see pg_proc_strs).
    if (f.name == "proc.exe") exact_or_prefix(PG_FF_EXE, PG_PROC_STR - 2, false);
    if (f.name == "proc.args" && !f.arg) exact_or_prefix(PG_FF_ARGS, PG_PROC_STR - 2, false);

    if (lits.empty()) return unknown(n, negated);
    for (auto& l : lits) l.text = {text};
    return one(std::move(lits));
  }

  // A comparison with a modifier against the single comparisons c1..cn
  // (each false when the field has no value, as the modified one is):
  //   anyof = c1 or ... or cn, exactly, also for fields with several
  //     values (proc.aname): "some value matches some ci" either way;
  //   allof implies c1 and ... and cn (equal for single-valued fields);
  //   oneof implies anyof.
  // Negated, only anyof is exact (not c1 and ... and not cn); the negation
  // of allof or oneof is not implied by anything simpler over fields with
  // several values, so it is left to userspace. An empty list is never true.
  Dnf modified(const Node& n, bool negated) {
    if (n.values.empty()) return negated ? dnf_true() : Dnf{};
    if (negated && n.mod != Modifier::AnyOf) return unknown(n, negated);
    std::vector<Node> singles;
    for (const auto& v : n.values) {
      Node c = n;
      c.mod = Modifier::None;
      c.rhs = RhsKind::Single;
      c.values = {v};
      singles.push_back(std::move(c));
    }
    const bool as_or = n.mod != Modifier::AllOf;
    // not (a or b) = not a and not b; not (a and b) = not a or not b.
    if (as_or != negated) return disjoin(singles, negated);
    return conjoin(singles, negated);
  }

  Dnf lower(const Node& n, bool negated) {
    switch (n.kind) {
      case NodeKind::Bool:
        return (n.bool_value != negated) ? dnf_true() : Dnf{};
      case NodeKind::Not:
        return lower(n.children.at(0), !negated);
      case NodeKind::And:
        return negated ? disjoin(n.children, true) : conjoin(n.children, false);
      case NodeKind::Or:
        return negated ? conjoin(n.children, true) : disjoin(n.children, false);
      case NodeKind::Compare:
        if (n.mod != Modifier::None) return modified(n, negated);
        return compare(n, negated);
      case NodeKind::Exists:
      case NodeKind::Macro:
        return unknown(n, negated);
    }
    return dnf_true();
  }

  Dnf conjoin(const std::vector<Node>& kids, bool negated) {
    std::vector<Dnf> parts;
    for (const auto& k : kids) {
      Dnf d = lower(k, negated);
      if (d.empty()) return {};  // false
      if (!is_true(d)) parts.push_back(std::move(d));
    }
    // Over budget: drop an operand (it becomes true) until it fits: first
    // the exclusions (an exception's "not (proc.name = x and ...)" passes
    // almost every event anyway), widest first; then the widest of the rest.
    auto product = [&] {
      std::size_t p = 1;
      for (const auto& d : parts) p = std::min<std::size_t>(p * d.size(), SIZE_MAX / 64);
      return p;
    };
    auto weaker = [](const Dnf& a, const Dnf& b) {  // "a is kept before b"
      const bool ea = excludes_only(a), eb = excludes_only(b);
      if (ea != eb) return eb;
      return a.size() < b.size();
    };
    while (!parts.empty() && product() > max_clauses) {
      parts.erase(std::max_element(parts.begin(), parts.end(), weaker));
      coarsened = true;
    }
    Dnf acc = dnf_true();
    for (const auto& d : parts) {
      Dnf next;
      for (const auto& a : acc)
        for (const auto& b : d)
          if (auto c = and_clauses(a, b)) next.push_back(std::move(*c));
      acc = std::move(next);
      if (acc.empty()) return {};
    }
    return simplify(std::move(acc));
  }

  Dnf disjoin(const std::vector<Node>& kids, bool negated) {
    Dnf acc;
    for (const auto& k : kids) {
      Dnf d = lower(k, negated);
      if (is_true(d)) return d;
      for (auto& c : d) acc.push_back(std::move(c));
    }
    // Long disjunctions: merge in one linear pass first (policy/dnf_merge.h);
    // what still has far more clauses than the budget becomes true without
    // the pairwise pass, whose cost grows faster than the clause count.
    merge_alike_clauses(acc);
    if (acc.size() > 16 * max_clauses) {
      coarsened = true;
      return dnf_true();
    }
    acc = simplify(std::move(acc));
    if (acc.size() > max_clauses) {
      coarsened = true;
      return dnf_true();
    }
    return acc;
  }

  // Every clause of `d` only excludes values (negated sets and paths):
  // such an operand narrows little, so it is the first to go over budget.
  static bool excludes_only(const Dnf& d) {
    return std::all_of(d.begin(), d.end(), [](const KClause& c) {
      return std::all_of(c.literals.begin(), c.literals.end(),
                         [](const KLiteral& l) { return !l.enumerated() && l.negated; });
    });
  }

  // a and b, or nothing when they contradict.
  static std::optional<KClause> and_clauses(const KClause& a, const KClause& b) {
    KClause out = a;
    for (const auto& lit : b.literals) {
      auto same = std::find_if(out.literals.begin(), out.literals.end(), [&](const KLiteral& l) {
        return l.field == lit.field && (l.enumerated() || is_value_set_field(l.field));
      });
      if (same == out.literals.end()) {
        out.literals.push_back(lit);
        continue;
      }
      if (!and_literal(*same, lit)) return std::nullopt;
    }
    return out;
  }

  // Merge `b` into `a` (same field) as a conjunction; false when empty.
  static bool and_literal(KLiteral& a, const KLiteral& b) {
    a.text.insert(a.text.end(), b.text.begin(), b.text.end());
    if (a.enumerated()) {
      // An empty set is no contradiction: an enumerated field exists only
      // for some syscalls (the open class for opens, the family for
      // connect), and events of the others never judge it. The literal
      // stays, rejecting just the events that have the field.
      a.accepts &= b.accepts;
      return true;
    }
    if (!a.negated && !b.negated) {
      a.values = set_op(a.values, b.values, '&');
      return !a.values.empty();
    }
    if (a.negated && b.negated) {
      a.values = set_op(a.values, b.values, '|');
      return true;
    }
    const KLiteral& pos = a.negated ? b : a;
    const KLiteral& neg = a.negated ? a : b;
    a.values = set_op(pos.values, neg.values, '-');
    a.negated = false;
    return !a.values.empty();
  }

  // a or b as one literal (same field), when one literal can say it.
  static bool or_literal(KLiteral& a, const KLiteral& b) {
    if (a.field != b.field) return false;
    if (a.enumerated()) {
      a.accepts |= b.accepts;
    } else if (is_value_set_field(a.field)) {
      if (!a.negated && !b.negated) {
        a.values = set_op(a.values, b.values, '|');
      } else if (a.negated && b.negated) {
        a.values = set_op(a.values, b.values, '&');
      } else {
        const KLiteral& pos = a.negated ? b : a;
        const KLiteral& neg = a.negated ? a : b;
        a.values = set_op(neg.values, pos.values, '-');
        a.negated = true;
      }
    } else {
      if (a.negated || b.negated) return false;
      a.values = set_op(a.values, b.values, '|');
      a.prefixes = set_op(a.prefixes, b.prefixes, '|');
    }
    a.text.insert(a.text.end(), b.text.begin(), b.text.end());
    return true;
  }

  static bool same_literal(const KLiteral& a, const KLiteral& b) {
    return a.field == b.field && a.negated == b.negated && a.accepts == b.accepts &&
           a.values == b.values && a.prefixes == b.prefixes;
  }

  // Merge clauses that differ in one literal on the same field, drop
  // duplicates; a true clause makes the whole disjunction true.
  static Dnf simplify(Dnf d) {
    for (const auto& c : d)
      if (c.literals.empty()) return dnf_true();
    bool changed = true;
    while (changed) {
      changed = false;
      for (std::size_t i = 0; i < d.size() && !changed; ++i) {
        for (std::size_t j = i + 1; j < d.size() && !changed; ++j) {
          auto& a = d[i].literals;
          const auto& b = d[j].literals;
          if (a.size() != b.size()) continue;
          std::size_t diff = a.size(), ndiff = 0;
          for (std::size_t k = 0; k < a.size(); ++k)
            if (!same_literal(a[k], b[k])) {
              diff = k;
              ++ndiff;
            }
          if (ndiff == 0) {
            d.erase(d.begin() + long(j));
            changed = true;
          } else if (ndiff == 1) {
            KLiteral merged = a[diff];
            if (or_literal(merged, b[diff])) {
              a[diff] = std::move(merged);
              d.erase(d.begin() + long(j));
              changed = true;
            }
          }
        }
      }
    }
    // A literal that accepts everything says nothing.
    for (auto& c : d)
      std::erase_if(c.literals,
                    [](const KLiteral& l) { return l.enumerated() && l.accepts.all(); });
    for (const auto& c : d)
      if (c.literals.empty()) return dnf_true();
    return d;
  }
};

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
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

bool KLiteral::enumerated() const {
  return field == kKindLiteral || field == PG_FF_TOPLEVEL || field == PG_FF_CLASS ||
         field == PG_FF_RAW || field == PG_FF_FAMILY || field == PG_FF_CONTAINER ||
         field == PG_FF_MEMFD;
}

bool KernelHalf::sharper_than_type() const {
  if (clauses.empty()) return true;
  return std::all_of(clauses.begin(), clauses.end(), [](const KClause& c) {
    return std::any_of(c.literals.begin(), c.literals.end(),
                       [](const KLiteral& l) { return l.field != kKindLiteral; });
  });
}

KernelHalf lower_rule(const Rule& rule, const LoweringOptions& o) {
  Lowering l{o.max_clauses, o};
  if (rule.source == EventSource::Syscall && !rule.event_types.all) {
    for (const auto& t : rule.event_types.names) {
      const uint16_t k = pathop_kind_of(t);
      if (k == 0) {
        l.pathops.clear();
        break;
      }
      l.pathops.push_back(k);
    }
  }
  KernelHalf h;
  h.clauses = l.lower(rule.condition, false);
  h.coarsened = l.coarsened;
  h.residue = std::move(l.residue);
  return h;
}

std::vector<int> kernel_fields_of(std::string_view field) {
  const auto id = FieldRegistry::instance().find(field);
  if (!id) return {};
  const FieldInfo& info = FieldRegistry::instance().at(*id);
  // A value of the field's type, as rules write them.
  std::string value = info.type == FieldType::Path                                      ? "/etc/x"
                      : info.type == FieldType::Port                                    ? "22"
                      : info.type == FieldType::Bool                                    ? "true"
                      : info.type == FieldType::Int64 || info.type == FieldType::Uint64 ? "1000"
                                                                                        : "x";
  if (field == "evt.type" || field == "syscall.type") value = "openat";
  if (field == "container.id") value = "host";
  std::set<int> out;
  for (Op op : {Op::Eq, Op::StartsWith, Op::Glob, Op::Contains}) {
    // `contains` is lowered for one value only: fd.nameraw's "../".
    if (op == Op::Contains) value = "../";
    Rule r;
    r.condition.kind = NodeKind::Compare;
    r.condition.field.name = std::string(field);
    r.condition.field.field_id = *id;
    r.condition.op = op;
    r.condition.rhs = RhsKind::Single;
    r.condition.values = {Value{value, false, 0}};
    if (info.arg_required) {
      // An argument field: as the first path argument of a path operation.
      r.condition.field.arg = "path";
      r.event_types.all = false;
      r.event_types.names = {"mkdir"};
    }
    LoweringOptions o;
    o.uids_named = [](const std::vector<std::string>&) { return std::vector<uint32_t>{0}; };
    for (const auto& c : lower_rule(r, o).clauses)
      for (const auto& l : c.literals) out.insert(l.field);
  }
  return {out.begin(), out.end()};
}

std::string_view kernel_field_name(int field) {
  switch (field) {
    case PG_FF_CLASS:
      return "open-class";
    case PG_FF_RAW:
      return "raw-path-dotdot";
    case PG_FF_FAMILY:
      return "family";
    case PG_FF_COMM:
      return "comm";
    case PG_FF_PCOMM:
      return "parent-comm";
    case PG_FF_UID:
      return "uid";
    case PG_FF_PORT:
      return "port";
    case PG_FF_PATH:
      return "path";
    case PG_FF_SUFFIX:
      return "path-suffix";
    case PG_FF_CONTAINER:
      return "container";
    case PG_FF_ARG:
      return "first-path-arg";
    case PG_FF_EXE:
      return "exe";
    case PG_FF_ARGS:
      return "args";
    case PG_FF_MEMFD:
      return "exe-from-memfd";
    case PG_FF_TOPLEVEL:
      return "path-in-root";
    case kKindLiteral:
      return "syscall";
    default:
      return "?";
  }
}

std::string to_string(const KLiteral& lit) {
  std::string out(kernel_field_name(lit.field));
  if (lit.field == PG_FF_CONTAINER) {
    const bool host = lit.accepts[PG_CT_HOST], ctr = lit.accepts[PG_CT_CONTAINER];
    return out + " in {" +
           (host && ctr ? "host,container"
            : host      ? "host"
            : ctr       ? "container"
                        : "") +
           "} [" + join(lit.text, "; ") + "]";
  }
  if (lit.field == kKindLiteral) {
    std::vector<std::string> vs;
    for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
      if (lit.accepts[k]) vs.push_back(std::string(filter_kind_name(k)));
    return out + " in {" + join(vs, ",") + "} [" + join(lit.text, "; ") + "]";
  }
  if (lit.enumerated()) {
    std::vector<std::string> vs;
    for (std::size_t v = 0; v < PG_ENUM_VALUES; ++v)
      if (lit.accepts[v]) vs.push_back(std::to_string(v));
    if (vs.size() > 12)
      return out + " in {" + std::to_string(vs.size()) + " values} [" + join(lit.text, "; ") + "]";
    return out + " in {" + join(vs, ",") + "} [" + join(lit.text, "; ") + "]";
  }
  out += lit.negated ? " not in (" : " in (";
  std::vector<std::string> items = lit.values;
  for (const auto& p : lit.prefixes) items.push_back(lit.field == PG_FF_SUFFIX ? "*" + p : p + "*");
  return out + join(items, ", ") + ")";
}

std::string to_string(const KClause& clause) {
  if (clause.literals.empty()) return "true";
  std::vector<std::string> parts;
  for (const auto& l : clause.literals) parts.push_back(to_string(l));
  return join(parts, " and ");
}

}  // namespace pg::policy
