// What a comparison says of one candidate value, for enumerated fields (the
// open class, the socket family); and what a glob pattern or a path fixes.
#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "policy/lowering_internal.h"

namespace pg::policy::lowering_detail {

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
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

static std::optional<bool> int_op(Op op, const std::vector<Value>& vals, int64_t x) {
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
static std::optional<bool> int_exists(Op op, const std::vector<Value>& vals, bool negated,
                                      int64_t lo, int64_t hi) {
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

// evt.res of an open that failed or not.
static std::optional<bool> result_may(Op op, const std::vector<Value>& vals, bool negated,
                                      bool failed) {
  auto string_exact = [&](std::string_view actual) -> std::optional<bool> {
    auto r = str_op(op, vals, actual);
    if (!r) return std::nullopt;
    return *r != negated;
  };
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

// `evt.arg.flags contains NAME` of an open of class `c`.
static std::optional<bool> open_flag_may(const FieldRef& f, Op op, const std::vector<Value>& vals,
                                         bool negated, uint32_t c) {
  const uint32_t acc = c & PG_OC_ACCMODE;
  if (f.arg == "flags" && op == Op::Contains && vals.size() == 1) {
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

// Open-class literal: does some open event of class `c` satisfy it?
std::optional<bool> class_may(KernelForm form, const FieldRef& f, Op op,
                              const std::vector<Value>& vals, bool negated, uint32_t c) {
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
  switch (form) {
    case KernelForm::OpenIsRead:
      return boolean(acc != PG_O_WRONLY);
    case KernelForm::OpenIsWrite:
      return boolean(acc != 0);
    case KernelForm::OpenIsExec:
      return boolean(c & PG_OC_PATH);
    case KernelForm::OpenIsCreate:
      return boolean(c & PG_OC_CREAT);
    case KernelForm::Failed:
      return boolean(failed);
    case KernelForm::FdTypeChar:
      return string_exact((c & PG_OC_DIRECTORY) ? "d" : "f");
    case KernelForm::FdType:
      return string_exact((c & PG_OC_DIRECTORY) ? "directory" : "file");
    case KernelForm::FdNum:
      if (failed) {
        auto r = int_op(op, vals, -1);
        if (!r) return std::nullopt;
        return *r != negated;
      }
      return int_exists(op, vals, negated, 0, INT32_MAX);
    case KernelForm::RawResult:
      return failed ? int_exists(op, vals, negated, -4095, -1)
                    : int_exists(op, vals, negated, 0, INT32_MAX);
    case KernelForm::Result:
      return result_may(op, vals, negated, failed);
    case KernelForm::EventArg:
      return open_flag_may(f, op, vals, negated, c);
    default:
      return std::nullopt;
  }
}

// Connect family literal: fd.typechar / fd.type of a connect's socket.
std::optional<bool> family_may(KernelForm form, Op op, const std::vector<Value>& vals, bool negated,
                               uint32_t fam) {
  static constexpr const char* kChar[] = {nullptr, "u", "4", "6"};
  static constexpr const char* kType[] = {nullptr, "unix", "ipv4", "ipv6"};
  const char* actual = form == KernelForm::FdTypeChar ? kChar[fam] : kType[fam];
  if (!actual) return negated;  // <NA>: the comparison is false
  auto r = str_op(op, vals, actual);
  if (!r) return std::nullopt;
  return *r != negated;
}

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

}  // namespace pg::policy::lowering_detail
