// The literal mapping: one comparison of a rule's condition → the kernel
// literals it implies (open class, socket family, container, value sets,
// path tries, exec strings), or residue when the kernel cannot judge it.
#include <algorithm>
#include <cctype>

#include "policy/lowering_internal.h"
#include "policy/pathop_args.h"

namespace pg::policy::lowering_detail {

// evt.type as the set of filtered syscalls it holds for (others are not
// judged by the kernel filter, so the literal says nothing of them).
Dnf Lowering::kinds(const Node& n, bool negated) {
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

namespace {

bool is_set_op(Op op) { return op == Op::Eq || op == Op::In || op == Op::Ne; }

// container.id: outside containers the id is "host"; inside, 12 hex digits
// the kernel does not know, so only a set of "host" alone decides there.
void container_literal(const Node& n, bool negated, std::vector<KLiteral>& lits) {
  const auto& vals = n.values;
  if (!is_set_op(n.op)) return;
  const bool only_host =
      std::all_of(vals.begin(), vals.end(), [](const Value& v) { return v.text == "host"; });
  auto ct =
      Lowering::enumerate(PG_FF_CONTAINER, PG_CT_UNKNOWN, [&](uint32_t v) -> std::optional<bool> {
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

// proc.is_exe_from_memfd: a flag of the process's exec, kept with its
// proc.exe (pg_fproc).
void memfd_literal(const Node& n, bool negated, std::vector<KLiteral>& lits) {
  const auto& vals = n.values;
  const bool booleans = std::all_of(vals.begin(), vals.end(), [](const Value& v) {
    return v.text == "true" || v.text == "false";
  });
  if (!booleans || !is_set_op(n.op)) return;
  auto mf = Lowering::enumerate(PG_FF_MEMFD, 2, [&](uint32_t v) -> std::optional<bool> {
    auto r = str_op(n.op, vals, v ? "true" : "false");
    if (!r) return std::nullopt;
    return *r != negated;
  });
  if (mf) lits.push_back(*mf);
}

// fd.nameraw contains "../": the name as passed climbs.
void dotdot_literal(const Node& n, bool negated, std::vector<KLiteral>& lits) {
  if (n.op != Op::Contains || n.values.size() != 1 || n.values[0].text != "../") return;
  KLiteral lit;
  lit.field = PG_FF_RAW;
  lit.accepts.set();
  lit.accepts[negated ? 1 : 0] = false;
  lits.push_back(lit);
}

// user.name as the uids the host's user database gives those names:
// userspace names a uid the same way, so "in" and "not in" carry over.
std::optional<Dnf> user_name_literal(const Node& n, bool negated, const LoweringOptions& opts,
                                     std::vector<KLiteral>& lits) {
  if (!opts.uids_named || !is_set_op(n.op)) return std::nullopt;
  KLiteral lit;
  lit.field = PG_FF_UID;
  lit.negated = negated != (n.op == Op::Ne);
  std::vector<std::string> names;
  for (const auto& v : n.values) names.push_back(v.text);
  for (uint32_t uid : opts.uids_named(names)) lit.values.push_back(std::to_string(uid));
  sort_unique(lit.values);
  if (!lit.negated && lit.values.empty()) return Dnf{};  // no such user: never true
  if (lit.negated && lit.values.empty()) return dnf_true();
  lits.push_back(lit);
  return std::nullopt;
}

// Value sets: comm, parent comm, uid, remote port.
std::optional<Dnf> value_set_literal(int set_field, const Node& n, bool negated,
                                     std::vector<KLiteral>& lits) {
  if (!is_set_op(n.op)) return std::nullopt;
  bool neg = negated != (n.op == Op::Ne);
  KLiteral lit;
  lit.field = set_field;
  lit.negated = neg;
  bool ok = true;
  for (const auto& v : n.values) {
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
  return std::nullopt;
}

// A glob on an open's path (fd.name): its literal start and end.
void path_glob_literals(const Node& n, bool negated, std::vector<KLiteral>& lits) {
  if (n.op != Op::Glob || negated || n.values.size() != 1) return;
  const GlobParts g = glob_parts(n.values[0].text);
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

// Paths of opens: fd.name exactly, by prefix or suffix; fd.directory as a
// prefix; fd.filename as a suffix.
void path_literal(KernelForm form, const Node& n, bool negated, std::vector<KLiteral>& lits) {
  const auto& vals = n.values;
  KLiteral lit;
  lit.field = PG_FF_PATH;
  bool ok = true, toplevel = false;
  bool neg = negated;
  Op op = n.op;
  if (op == Op::Ne) {
    op = Op::Eq;
    neg = !neg;
  }
  const bool name = form == KernelForm::FdName, dir = form == KernelForm::FdDirectory,
             file = form == KernelForm::FdFilename;
  for (const auto& v : vals) {
    const std::string& s = v.text;
    if (name && (op == Op::Eq || op == Op::In)) {
      ok = ok && clean_abs_path(s);
      lit.values.push_back(s);
    } else if (name && !neg && (op == Op::StartsWith || op == Op::PMatch)) {
      ok = ok && s.size() + 1 <= PG_PATH_KEY_MAX;
      lit.prefixes.push_back(s);
    } else if (name && op == Op::StartsWith) {
      ok = ok && s.size() + 1 <= PG_PATH_KEY_MAX;
      lit.prefixes.push_back(s);
    } else if (name && op == Op::EndsWith) {
      lit.field = PG_FF_SUFFIX;
      ok = ok && !s.empty() && s.size() + 1 <= PG_PATH_KEY_MAX;
      lit.prefixes.push_back(s);
    } else if (dir && !neg && (op == Op::Eq || op == Op::In) && vals.size() == 1 && s == "/") {
      toplevel = true;  // "/x": a fact of its own, not the prefix "/" of every path
    } else if (dir && !neg && (op == Op::Eq || op == Op::In)) {
      std::string p = s == "/" ? s : s + "/";
      ok = ok && p.size() + 1 <= PG_PATH_KEY_MAX;
      lit.prefixes.push_back(p);
    } else if (file && !neg && (op == Op::Eq || op == Op::In)) {
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
void exact_or_prefix(int field, size_t max_len, bool pmatch, const Node& n, bool negated,
                     std::vector<KLiteral>& lits) {
  const auto& vals = n.values;
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
}

// Substrings of an open's path (PG_FF_PATH_NEEDLE) or a path operation's
// first argument (PG_FF_ARG_NEEDLE): `contains`, either way, and
// `endswith`, which implies `contains`.
void needle_literal(int field, const Node& n, bool negated, std::vector<KLiteral>& lits) {
  if (n.op != Op::Contains && !(n.op == Op::EndsWith && !negated)) return;
  KLiteral lit;
  lit.field = field;
  lit.negated = negated;
  for (const auto& v : n.values) {
    if (v.text.empty() || v.text.size() > PG_NEEDLE_MAX) return;
    lit.values.push_back(v.text);
  }
  if (lit.values.empty()) return;
  sort_unique(lit.values);
  lits.push_back(std::move(lit));
}

}  // namespace

// evt.arg.NAME on a rule whose syscalls do not all have NAME as their first
// path argument, one clause per kind of syscall: the path operations
// without an argument NAME never match (a comparison on <NA> is false, so
// only a negated one holds there); those whose first path argument NAME is
// are judged as is_first_path_arg; the rest (NAME is another argument, or
// the syscall is no path operation) by `open_lits` alone, that is, not
// judged beyond the open class. nullopt when that splits nothing.
std::optional<Dnf> Lowering::event_arg_by_syscall(const Node& n, bool negated,
                                                  const std::vector<KLiteral>& open_lits) {
  const std::string& name = n.field.arg ? *n.field.arg : std::string();
  // res (every event) and fd (opens) are no path-operation arguments but
  // have values; an index names arguments by position.
  if (name.empty() || name == "res" || name == "fd" ||
      std::isdigit(static_cast<unsigned char>(name[0])))
    return std::nullopt;
  std::bitset<PG_FK__COUNT> first, other;
  bool never = false;
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k) {
    if (!rule_kinds[k]) continue;
    uint16_t po = 0;
    for (uint16_t p = PG_PO_SYMLINK; p < PG_PO__END && !po; ++p)
      if (pg_fkind_of_pathop(p) == k) po = p;
    const PathOpArg where = po ? pathop_arg(po, name) : PathOpArg::Path2;  // not a path op: other
    if (where == PathOpArg::Path1)
      first[k] = true;
    else if (where != PathOpArg::None || negated)
      other[k] = true;
    else
      never = true;
  }
  if (!never && first.none()) return std::nullopt;
  const std::string text = (negated ? "not " : "") + to_string(n);
  auto kinds = [&](const std::bitset<PG_FK__COUNT>& ks) {
    KLiteral k;
    k.field = kKindLiteral;
    for (uint32_t i = 0; i < PG_FK__COUNT; ++i) k.accepts[i] = ks[i];
    k.text = {text};
    return k;
  };
  Dnf out;
  if (first.any()) {
    std::vector<KLiteral> lits{kinds(first)};
    exact_or_prefix(PG_FF_ARG, PG_PATH_KEY_MAX - 1, true, n, negated, lits);
    needle_literal(PG_FF_ARG_NEEDLE, n, negated, lits);
    for (auto& l : lits) l.text = {text};
    if (lits.size() == 1) unknown(n, negated);  // the argument is not judged
    out.push_back(KClause{std::move(lits)});
  }
  if (other.any()) {
    std::vector<KLiteral> lits{kinds(other)};
    for (const auto& l : open_lits) lits.push_back(l);
    for (auto& l : lits) l.text = {text};
    unknown(n, negated);
    out.push_back(KClause{std::move(lits)});
  }
  return out;  // empty: no syscall of the rule has the argument
}

// One comparison, dispatched on how the registry says its field lowers.
Dnf Lowering::compare(const Node& n, bool negated) {
  const FieldRef& f = n.field;
  const KernelForm form = kernel_form(f);
  if (form == KernelForm::EventType) return kinds(n, negated);
  if (form == KernelForm::None || !f.transformers.empty() || f.is_call() ||
      n.rhs == RhsKind::Field || n.rhs == RhsKind::None)
    return unknown(n, negated);
  const auto& vals = n.values;
  std::vector<KLiteral> lits;
  // Facts of an open's class, judged by trying every class.
  auto open_class = [&] {
    auto cls = enumerate(PG_FF_CLASS, PG_ENUM_VALUES,
                         [&](uint32_t c) { return class_may(form, f, n.op, vals, negated, c); });
    if (cls) lits.push_back(*cls);
  };
  std::optional<Dnf> decided;  // the whole comparison, when a set decides it
  switch (form) {
    case KernelForm::None:
    case KernelForm::EventType:
      break;
    case KernelForm::OpenIsRead:
    case KernelForm::OpenIsWrite:
    case KernelForm::OpenIsExec:
    case KernelForm::OpenIsCreate:
    case KernelForm::Failed:
    case KernelForm::Result:
    case KernelForm::RawResult:
    case KernelForm::FdNum:
      open_class();
      break;
    case KernelForm::FdType:
    case KernelForm::FdTypeChar: {
      open_class();
      auto fam = enumerate(PG_FF_FAMILY, 4,
                           [&](uint32_t v) { return family_may(form, n.op, vals, negated, v); });
      if (fam) lits.push_back(*fam);
      break;
    }
    case KernelForm::EventArg:
      open_class();  // evt.arg.flags of opens
      // The first path argument of path operations. Its value is the string
      // as passed (a symlink's target) or, for names of files, what userspace
      // resolves it to; the kernel judges the latter only when the argument
      // is already absolute and normalised, so the same strings serve both.
      if (is_first_path_arg(f)) {
        exact_or_prefix(PG_FF_ARG, PG_PATH_KEY_MAX - 1, true, n, negated, lits);
        needle_literal(PG_FF_ARG_NEEDLE, n, negated, lits);
      } else {
        decided = event_arg_by_syscall(n, negated, lits);
      }
      break;
    case KernelForm::Container:
      container_literal(n, negated, lits);
      break;
    case KernelForm::ExeFromMemfd:
      memfd_literal(n, negated, lits);
      break;
    case KernelForm::RawDotDot:
      dotdot_literal(n, negated, lits);
      break;
    case KernelForm::UserName:
      decided = user_name_literal(n, negated, opts, lits);
      break;
    case KernelForm::Comm:
      decided = value_set_literal(PG_FF_COMM, n, negated, lits);
      break;
    case KernelForm::ParentComm:
      decided = value_set_literal(PG_FF_PCOMM, n, negated, lits);
      break;
    case KernelForm::Uid:
      decided = value_set_literal(PG_FF_UID, n, negated, lits);
      break;
    case KernelForm::Port:
      decided = value_set_literal(PG_FF_PORT, n, negated, lits);
      break;
    case KernelForm::FdName:
      path_glob_literals(n, negated, lits);
      path_literal(form, n, negated, lits);
      if (n.op == Op::Contains) needle_literal(PG_FF_PATH_NEEDLE, n, negated, lits);
      break;
    case KernelForm::FdDirectory:
    case KernelForm::FdFilename:
      path_literal(form, n, negated, lits);
      break;
    // proc.exe and proc.args as the process's exec set them: the kernel
    // keeps their first PG_PROC_STR - 1 bytes (see pg_proc_strs).
    case KernelForm::Exe:
      exact_or_prefix(PG_FF_EXE, PG_PROC_STR - 2, false, n, negated, lits);
      break;
    case KernelForm::Args:
      if (!f.arg) exact_or_prefix(PG_FF_ARGS, PG_PROC_STR - 2, false, n, negated, lits);
      break;
  }
  if (decided) return *decided;
  if (lits.empty()) return unknown(n, negated);
  const std::string text = (negated ? "not " : "") + to_string(n);
  for (auto& l : lits) l.text = {text};
  return one(std::move(lits));
}

}  // namespace pg::policy::lowering_detail
