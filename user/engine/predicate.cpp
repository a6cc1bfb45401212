#include "user/engine/predicate.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_set>
#include <vector>

#include "user/engine/dns.h"
#include "user/engine/extract.h"

namespace pg::user::engine {

namespace {

using policy::FieldType;
using policy::Node;
using policy::NodeKind;
using policy::Op;

class Const final : public Predicate {
 public:
  explicit Const(bool v) : v_(v) {}
  bool eval(const View&) const override { return v_; }
  std::optional<bool> constant() const override { return v_; }

 private:
  bool v_;
};

class And final : public Predicate {
 public:
  explicit And(std::vector<std::unique_ptr<Predicate>> c) : c_(std::move(c)) {}
  bool eval(const View& v) const override {
    for (const auto& p : c_)
      if (!p->eval(v)) return false;
    return true;
  }

 private:
  std::vector<std::unique_ptr<Predicate>> c_;
};

class Or final : public Predicate {
 public:
  explicit Or(std::vector<std::unique_ptr<Predicate>> c) : c_(std::move(c)) {}
  bool eval(const View& v) const override {
    for (const auto& p : c_)
      if (p->eval(v)) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<Predicate>> c_;
};

class Not final : public Predicate {
 public:
  explicit Not(std::unique_ptr<Predicate> c) : c_(std::move(c)) {}
  bool eval(const View& v) const override { return !c_->eval(v); }

 private:
  std::unique_ptr<Predicate> c_;
};

bool is_numeric(FieldType t) {
  return t == FieldType::Int64 || t == FieldType::Uint64 || t == FieldType::Port ||
         t == FieldType::RelTime || t == FieldType::AbsTime;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An IPv4/IPv6 network for `in` / `=` on address fields.
struct Net {
  int family = 0;
  uint8_t addr[16] = {};
  int prefix = 0;
  static std::optional<Net> parse(std::string_view text) {
    Net n;
    std::string s(text);
    int prefix = -1;
    if (auto slash = s.find('/'); slash != std::string::npos) {
      auto p = parse_int(std::string_view(s).substr(slash + 1));
      if (!p) return std::nullopt;
      prefix = int(*p);
      s.resize(slash);
    }
    if (inet_pton(AF_INET, s.c_str(), n.addr) == 1) {
      n.family = AF_INET;
      n.prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, s.c_str(), n.addr) == 1) {
      n.family = AF_INET6;
      n.prefix = prefix < 0 ? 128 : prefix;
    } else {
      return std::nullopt;
    }
    return n;
  }
  bool contains(std::string_view ip) const {
    uint8_t a[16] = {};
    std::string s(ip);
    if (inet_pton(family, s.c_str(), a) != 1) return false;
    int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a, addr, size_t(full)) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[full] & mask) == (addr[full] & mask);
  }
};

// One comparison of a field against constants.
class Compare final : public Predicate {
 public:
  Compare(BoundField f, Op op) : f_(std::move(f)), op_(op) {}

  std::expected<void, std::string> set_values(const std::vector<policy::Value>& vals) {
    for (const auto& v : vals) texts_.push_back(v.text);
    const bool numeric = is_numeric(f_.type) && !has_len();
    if (numeric || has_len()) {
      for (const auto& t : texts_) {
        auto n = parse_int(t);
        if (!n) return std::unexpected(fmt::format("'{}' is not a number", t));
        nums_.push_back(*n);
      }
    }
    if (f_.type == FieldType::Bool) {
      for (const auto& t : texts_) nums_.push_back(t == "true" ? 1 : 0);
    }
    if (op_ == Op::In || op_ == Op::Intersects) {
      for (const auto& t : texts_) set_.insert(t);
      if (f_.type == FieldType::IpAddr || f_.type == FieldType::IpNet)
        for (const auto& t : texts_)
          if (auto n = Net::parse(t); n && t.find('/') != std::string::npos) nets_.push_back(*n);
    }
    if (op_ == Op::IContains) {
      for (auto& t : texts_) t = to_lower(t);
    }
    if (op_ == Op::Regex) {
      for (const auto& t : texts_) {
        auto re = std::make_unique<re2::RE2>(t, re2::RE2::Quiet);
        if (!re->ok()) return std::unexpected(fmt::format("bad regex '{}': {}", t, re->error()));
        regexes_.push_back(std::move(re));
      }
    }
    if (op_ == Op::PMatch) {
      // Path prefixes: "/etc" matches "/etc" and "/etc/x", not "/etcx".
      for (auto t : texts_) {
        while (t.size() > 1 && t.back() == '/') t.pop_back();
        prefixes_.push_back(t);
      }
    }
    if ((f_.type == FieldType::IpNet || f_.type == FieldType::IpAddr) &&
        (op_ == Op::Eq || op_ == Op::Ne))
      for (const auto& t : texts_)
        if (t.find('/') != std::string::npos)
          if (auto n = Net::parse(t)) nets_.push_back(*n);
    return {};
  }

  void set_rhs_field(BoundField rhs) { rhs_ = std::move(rhs); }

  // One value of the field (not <NA>, not a list) against the comparison.
  bool holds_for(const Value& val, const View& v) const {
    thread_local std::string rhs_scratch;
    return match(val, v, rhs_scratch);
  }

  bool eval(const View& v) const override {
    thread_local std::string scratch, rhs_scratch;
    Value val = extract(f_, v, scratch);
    if (op_ == Op::Exists) return !val.is_na();
    if (val.is_na()) return false;
    if (val.kind == Value::Kind::List) {
      // Falco's list fields: `in` asks whether every element is in the set
      // (the list is a subset), `intersects` whether any is; other operators
      // hold if they hold for any element.
      if (op_ == Op::In && f_.type == FieldType::StringList && !rhs_) {
        if (val.list->empty()) return false;
        for (const auto& s : *val.list)
          if (!match(Value::of(s), v, rhs_scratch)) return false;
        return true;
      }
      for (const auto& s : *val.list)
        if (match(Value::of(s), v, rhs_scratch)) return true;
      return false;
    }
    return match(val, v, rhs_scratch);
  }

 private:
  bool has_len() const {
    return !f_.transformers.empty() && f_.transformers.front() == policy::Transformer::Len;
  }

  bool match(const Value& val, const View& v, std::string& rhs_scratch) const {
    if (rhs_) {
      Value r = extract(*rhs_, v, rhs_scratch);
      if (r.is_na()) return false;
      return compare_values(val, r);
    }
    switch (val.kind) {
      case Value::Kind::Int:
      case Value::Kind::Bool:
        return match_int(val.num);
      case Value::Kind::Str:
        return match_str(val.str);
      default:
        return false;
    }
  }

  bool compare_values(const Value& a, const Value& b) const {
    if ((a.kind == Value::Kind::Int || a.kind == Value::Kind::Bool) &&
        (b.kind == Value::Kind::Int || b.kind == Value::Kind::Bool)) {
      switch (op_) {
        case Op::Eq:
          return a.num == b.num;
        case Op::Ne:
          return a.num != b.num;
        case Op::Lt:
          return a.num < b.num;
        case Op::Le:
          return a.num <= b.num;
        case Op::Gt:
          return a.num > b.num;
        case Op::Ge:
          return a.num >= b.num;
        default:
          return false;
      }
    }
    std::string sa = render_value(a), sb = render_value(b);
    switch (op_) {
      case Op::Eq:
        return sa == sb;
      case Op::Ne:
        return sa != sb;
      case Op::Contains:
        return sa.find(sb) != std::string::npos;
      case Op::StartsWith:
        return sa.starts_with(sb);
      case Op::EndsWith:
        return sa.ends_with(sb);
      default:
        return false;
    }
  }

  bool match_int(int64_t n) const {
    // A textual field (evt.arg.*) holding a number compares as its decimal
    // text, as Falco compares the argument's rendering.
    if (nums_.empty()) return !texts_.empty() && match_str(std::to_string(n));
    switch (op_) {
      case Op::Eq:
        return n == nums_[0];
      case Op::Ne:
        return n != nums_[0];
      case Op::Lt:
        return n < nums_[0];
      case Op::Le:
        return n <= nums_[0];
      case Op::Gt:
        return n > nums_[0];
      case Op::Ge:
        return n >= nums_[0];
      case Op::In:
      case Op::Intersects:
        return std::find(nums_.begin(), nums_.end(), n) != nums_.end();
      default:
        return false;
    }
  }

  bool match_str(std::string_view s) const {
    const std::string& first = texts_.empty() ? empty_ : texts_[0];
    switch (op_) {
      case Op::Eq:
        if (!nets_.empty()) return nets_[0].contains(s);
        return s == first;
      case Op::Ne:
        if (!nets_.empty()) return !nets_[0].contains(s);
        return s != first;
      case Op::Lt:
        return s < std::string_view(first);
      case Op::Le:
        return s <= std::string_view(first);
      case Op::Gt:
        return s > std::string_view(first);
      case Op::Ge:
        return s >= std::string_view(first);
      case Op::Contains:
      case Op::BContains:
        return s.find(first) != std::string_view::npos;
      case Op::IContains:
        return to_lower(s).find(first) != std::string::npos;
      case Op::StartsWith:
      case Op::BStartsWith:
        return s.starts_with(first);
      case Op::EndsWith:
        return s.ends_with(first);
      case Op::Glob:
        return fnmatch(first.c_str(), std::string(s).c_str(), 0) == 0;
      case Op::IGlob:
        return fnmatch(first.c_str(), std::string(s).c_str(), FNM_CASEFOLD) == 0;
      case Op::Regex:
        return re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *regexes_[0]);
      case Op::In:
      case Op::Intersects:
        if (set_.count(std::string(s))) return true;
        for (const auto& n : nets_)
          if (n.contains(s)) return true;
        return false;
      case Op::PMatch:
        for (const auto& p : prefixes_) {
          if (p == "/") return s.starts_with('/');
          if (s.starts_with(p) && (s.size() == p.size() || s[p.size()] == '/')) return true;
        }
        return false;
      default:
        return false;
    }
  }

  BoundField f_;
  Op op_;
  std::optional<BoundField> rhs_;
  std::vector<std::string> texts_;
  std::vector<int64_t> nums_;
  std::unordered_set<std::string> set_;
  std::vector<Net> nets_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
  std::vector<std::string> prefixes_;
  std::string empty_;
};

using Result = std::expected<std::unique_ptr<Predicate>, std::string>;
using CompareResult = std::expected<std::unique_ptr<Compare>, std::string>;

CompareResult make_compare(const Node& n, policy::EventSource src) {
  auto cmp = std::make_unique<Compare>(bind_field(n.field, src), n.op);
  // fd.sip.name and friends: the names compared with are resolved
  // forwards, in the background (user/engine/dns.h).
  if (n.field.name.starts_with("fd.") && n.field.name.ends_with("ip.name"))
    for (const auto& v : n.values) DnsNames::instance().watch(v.text);
  if (n.rhs == policy::RhsKind::Field) {
    cmp->set_rhs_field(bind_field(n.rhs_field, src));
  } else if (auto ok = cmp->set_values(n.values); !ok) {
    return std::unexpected(fmt::format("in '{}': {}", policy::to_string(n), ok.error()));
  }
  return cmp;
}

// `OP oneof|anyof|allof (v1, ...)`: the single comparisons `OP vi` on one
// value of the field, combined (exactly one, at least one, all). As in
// libs, <NA> is false, and a field with several values (proc.aname)
// matches when one of its values does.
class Modified final : public Predicate {
 public:
  Modified(BoundField f, policy::Modifier m, std::vector<std::unique_ptr<Compare>> singles)
      : f_(std::move(f)), mod_(m), singles_(std::move(singles)) {}

  bool eval(const View& v) const override {
    thread_local std::string scratch;
    Value val = extract(f_, v, scratch);
    if (val.is_na()) return false;
    if (val.kind != Value::Kind::List) return combine(val, v);
    for (const auto& s : *val.list)
      if (combine(Value::of(s), v)) return true;
    return false;
  }

 private:
  bool combine(const Value& val, const View& v) const {
    int hits = 0;
    for (const auto& c : singles_) {
      bool h = c->holds_for(val, v);
      if (mod_ == policy::Modifier::AnyOf && h) return true;
      if (mod_ == policy::Modifier::AllOf && !h) return false;
      if (mod_ == policy::Modifier::OneOf && h && ++hits > 1) return false;
    }
    if (mod_ == policy::Modifier::AnyOf) return false;
    if (mod_ == policy::Modifier::AllOf) return true;
    return hits == 1;
  }

  BoundField f_;
  policy::Modifier mod_;
  std::vector<std::unique_ptr<Compare>> singles_;
};

Result compile_node(const Node& n, policy::EventSource src);

Result compile_modified(const Node& n, policy::EventSource src) {
  if (n.values.empty()) return std::make_unique<Const>(false);  // libs: no element, no match
  std::vector<std::unique_ptr<Compare>> singles;
  for (const auto& v : n.values) {
    Node single = n;
    single.mod = policy::Modifier::None;
    single.rhs = policy::RhsKind::Single;
    single.values = {v};
    auto c = make_compare(single, src);
    if (!c) return std::unexpected(c.error());
    singles.push_back(std::move(*c));
  }
  return std::make_unique<Modified>(bind_field(n.field, src), n.mod, std::move(singles));
}

Result compile_children(const Node& n, bool is_and, policy::EventSource src) {
  std::vector<std::unique_ptr<Predicate>> kids;
  for (const auto& c : n.children) {
    auto k = compile_node(c, src);
    if (!k) return k;
    if (auto cv = (*k)->constant()) {
      // Fold: a false child decides an `and`, a true one an `or`;
      // the neutral constant just disappears.
      if (*cv != is_and) return std::make_unique<Const>(*cv);
      continue;
    }
    kids.push_back(std::move(*k));
  }
  if (kids.empty()) return std::make_unique<Const>(is_and);
  if (kids.size() == 1) return std::move(kids.front());
  if (is_and) return std::make_unique<And>(std::move(kids));
  return std::make_unique<Or>(std::move(kids));
}

Result compile_node(const Node& n, policy::EventSource src) {
  switch (n.kind) {
    case NodeKind::Bool:
      return std::make_unique<Const>(n.bool_value);
    case NodeKind::And:
      return compile_children(n, true, src);
    case NodeKind::Or:
      return compile_children(n, false, src);
    case NodeKind::Not: {
      auto c = compile_node(n.children.at(0), src);
      if (!c) return c;
      if (auto cv = (*c)->constant()) return std::make_unique<Const>(!*cv);
      return std::make_unique<Not>(std::move(*c));
    }
    case NodeKind::Exists: {
      return std::make_unique<Compare>(bind_field(n.field, src), Op::Exists);
    }
    case NodeKind::Compare: {
      if (n.mod != policy::Modifier::None) return compile_modified(n, src);
      auto cmp = make_compare(n, src);
      if (!cmp) return std::unexpected(cmp.error());
      return std::move(*cmp);
    }
    case NodeKind::Macro:
      return std::unexpected(fmt::format("macro '{}' was not expanded", n.macro));
  }
  return std::unexpected("unknown condition node");
}

}  // namespace

std::expected<std::unique_ptr<Predicate>, std::string> compile_predicate(
    const Node& node, policy::EventSource source) {
  return compile_node(node, source);
}

}  // namespace pg::user::engine
