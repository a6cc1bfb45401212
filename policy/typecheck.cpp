#include "policy/typecheck.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <charconv>

#include "policy/evttypes.h"
#include "policy/source_text.h"

namespace pg::policy {
namespace {

bool is_numeric(FieldType t) {
  return t == FieldType::Int64 || t == FieldType::Uint64 || t == FieldType::Port ||
         t == FieldType::RelTime || t == FieldType::AbsTime;
}
bool is_text(FieldType t) {
  return t == FieldType::String || t == FieldType::Path || t == FieldType::StringList;
}

template <class I>
bool parse_int(const std::string& s, I& out) {
  auto b = s.data();
  auto e = s.data() + s.size();
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    b += 2;
    base = 16;
  }
  auto [p, ec] = std::from_chars(b, e, out, base);
  return ec == std::errc() && p == e && b != e;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_net(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return is_ip(s);
  std::string ip = s.substr(0, slash);
  unsigned bits = 0;
  if (!parse_int(s.substr(slash + 1), bits)) return false;
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return bits <= 32;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return bits <= 128;
  return false;
}

bool is_hex(const std::string& s) {
  if (s.empty() || s.size() % 2) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Location node_loc(const Node& n, std::size_t pos) {
  return n.origin ? n.origin->text.location(pos) : Location{};
}

class Checker {
 public:
  Checker(const CheckOptions& o, Diagnostics& d) : opts_(o), diags_(d) {}

  CheckStatus run(Node& n) {
    visit(n);
    if (unknown_) return CheckStatus::UnknownFilter;
    return failed_ ? CheckStatus::Error : CheckStatus::Ok;
  }

 private:
  void report(const Node& n, std::size_t pos, std::string msg) {
    failed_ = true;
    if (!n.origin) {
      diags_.add(
          Diagnostic{Code::ErrCompileCondition, ItemType::Rule, opts_.rule_name, {}, msg, {}, 0});
      return;
    }
    diags_.add_at(Code::ErrCompileCondition, n.origin->item_type, n.origin->item_name,
                  n.origin->text, pos, std::move(msg));
  }

  void warn(Code c, const Node& n, std::size_t pos, std::string msg) {
    if (!n.origin) return;
    diags_.add_at(c, n.origin->item_type, n.origin->item_name, n.origin->text, pos, std::move(msg));
  }

  bool field(const Node& n, FieldRef& ref) {
    bool unknown = false;
    auto err = resolve_field(ref, opts_.source, unknown);
    if (!err) return true;
    if (unknown && opts_.skip_if_unknown_filter) {
      if (!unknown_)
        diags_.add(Diagnostic{Code::UnknownFilter,
                              ItemType::Rule,
                              opts_.rule_name,
                              node_loc(n, ref.pos),
                              *err + "; the rule is skipped (skip-if-unknown-filter: true)",
                              {},
                              0});
      unknown_ = true;
      return false;
    }
    report(n, ref.pos, *err);
    return false;
  }

  void visit(Node& n) {
    switch (n.kind) {
      case NodeKind::And:
      case NodeKind::Or:
      case NodeKind::Not:
        for (auto& c : n.children) visit(c);
        return;
      case NodeKind::Bool:
        return;
      case NodeKind::Macro:
        report(n, n.pos, "macro '" + n.macro + "' was not expanded");
        return;
      case NodeKind::Exists:
        field(n, n.field);
        return;
      case NodeKind::Compare:
        compare(n);
        return;
    }
  }

  void compare(Node& n) {
    if (!field(n, n.field)) return;
    FieldType t = effective_type(n.field);
    if (auto e = check_operator(t, n.op)) {
      report(n, n.pos, "'" + to_string(n.field) + "': " + *e);
      return;
    }
    if (n.mod != Modifier::None) {
      // As libs: a modifier compares one value with each list element, so
      // list fields take none, and addresses, numbers and booleans only
      // with = and !=.
      std::string what = std::string(op_name(n.op)) + " " + std::string(modifier_name(n.mod));
      if (t == FieldType::StringList) {
        report(n, n.pos,
               "'" + to_string(n.field) + "' holds several values; '" + what +
                   "' needs a single-valued field (use 'in' or 'intersects')");
        return;
      }
      if (!is_text(t) && t != FieldType::Bytes && n.op != Op::Eq && n.op != Op::Ne) {
        report(n, n.pos,
               "'" + what + "' is not supported for " + std::string(field_type_name(t)) +
                   " field '" + to_string(n.field) +
                   "' (only '= " + std::string(modifier_name(n.mod)) +
                   "' and '!= " + std::string(modifier_name(n.mod)) + "')");
        return;
      }
    }
    if (n.rhs == RhsKind::Field) {
      if (!field(n, n.rhs_field)) return;
      FieldType rt = effective_type(n.rhs_field);
      bool compatible = (is_numeric(t) && is_numeric(rt)) || (is_text(t) && is_text(rt)) || t == rt;
      if (!compatible)
        report(n, n.rhs_field.pos,
               "cannot compare " + std::string(field_type_name(t)) + " field '" +
                   to_string(n.field) + "' with " + std::string(field_type_name(rt)) + " field '" +
                   to_string(n.rhs_field) + "'");
      return;
    }
    bool evt_type = n.field.name == "evt.type" && n.field.transformers.empty();
    for (const auto& v : n.values) {
      if (v.text == "<NA>")
        warn(Code::UnsafeNaCheck, n, v.pos,
             "comparing '" + to_string(n.field) +
                 "' with \"<NA>\" is unreliable (the value may be "
                 "missing for other reasons); test for the condition you mean, e.g. with 'exists'");
      if (auto e = check_value(t, n.op, v.text)) {
        report(n, v.pos, "value '" + v.text + "' for '" + to_string(n.field) + "': " + *e);
        continue;
      }
      if (evt_type && !is_known_event_type(v.text))
        warn(Code::UnknownEvttype, n, v.pos,
             "'" + v.text + "' is not a known event type; this comparison can never match");
    }
  }

  const CheckOptions& opts_;
  Diagnostics& diags_;
  bool failed_ = false;
  bool unknown_ = false;
};

}  // namespace

namespace {

bool is_list_arg(const FieldRef& a) { return effective_type(a) == FieldType::StringList; }
bool is_string_arg(const FieldRef& a) {
  FieldType t = effective_type(a);
  return t == FieldType::String || t == FieldType::Path;
}

// The argument rules are libs' (sinsp_filtercheck_multivalue_transformer):
// join(single, list), concat(string, string, ...), getopt(list, string).
std::optional<std::string> resolve_call(FieldRef& ref, EventSource source, bool& unknown) {
  if (ref.call == Call::Literal) return std::nullopt;
  for (auto& a : ref.args)
    if (auto e = resolve_field(a, source, unknown)) return e;
  const std::string name(call_name(ref.call));
  if (ref.arg && ref.call != Call::Getopt)
    return name + "() takes no argument; remove '[" + *ref.arg + "]'";
  switch (ref.call) {
    case Call::Join:
      if (ref.args.size() != 2)
        return "join() takes two arguments, a separator and a list, e.g. join(\",\", (proc.name, "
               "proc.pname))";
      if (is_list_arg(ref.args[0]))
        return "join()'s separator must be a single value, not '" + to_string(ref.args[0]) + "'";
      if (!is_list_arg(ref.args[1]))
        return "join()'s second argument must be a list, (a, b, ...) or a list field, not '" +
               to_string(ref.args[1]) + "'";
      break;
    case Call::Concat:
      if (ref.args.size() < 2) return "concat() takes at least two strings";
      for (const auto& a : ref.args)
        if (!is_string_arg(a))
          return "concat() takes single strings; '" + to_string(a) + "' is " +
                 std::string(field_type_name(effective_type(a)));
      break;
    case Call::Getopt:
      if (ref.args.size() != 2)
        return "getopt() takes two arguments, the arguments as a list and an optstring, e.g. "
               "getopt((proc.args[0], proc.args[1]), \"n:t\")";
      if (!is_list_arg(ref.args[0]))
        return "getopt()'s first argument must be a list, (a, b, ...) or a list field, not '" +
               to_string(ref.args[0]) + "'";
      if (!is_string_arg(ref.args[1]))
        return "getopt()'s optstring must be a single string, not '" + to_string(ref.args[1]) + "'";
      if (ref.arg && ref.arg->size() != 1)
        return "getopt()'s [argument] must be one option character, not '" + *ref.arg + "'";
      break;
    case Call::List:
    case Call::Literal:
    case Call::None:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> resolve_field(FieldRef& ref, EventSource source, bool& unknown) {
  unknown = false;
  if (ref.is_call()) return resolve_call(ref, source, unknown);
  const auto& reg = FieldRegistry::instance();
  std::optional<std::string> dotted;
  auto id = reg.resolve(ref.name, dotted);
  if (!id) {
    unknown = true;
    std::string msg = "unknown field '" + ref.name + "'";
    auto s = reg.suggest(ref.name);
    if (!s.empty())
      msg += " (did you mean '" + s + "'?)";
    else
      msg += " (`peregrine fields` lists the known ones)";
    return msg;
  }
  const FieldInfo& f = reg.at(*id);
  if (dotted) {
    if (ref.arg)
      return "field '" + std::string(f.name) + "' has both a dotted key ('." + *dotted +
             "') and an argument ('[" + *ref.arg + "]'); use one";
    ref.name = std::string(f.name);
    ref.arg = dotted;
  }
  if (!f.in_source(source)) {
    unknown = true;
    return "field '" + std::string(f.name) + "' does not exist for source '" +
           std::string(source_name(source)) + "'";
  }
  if (ref.arg && f.arg == ArgKind::None)
    return "field '" + std::string(f.name) + "' takes no argument; remove '[" + *ref.arg + "]'";
  if (!ref.arg && f.arg_required)
    return "field '" + std::string(f.name) + "' needs an argument, e.g. " + std::string(f.name) +
           (f.arg == ArgKind::Index ? "[0]" : "[name]");
  if (ref.arg && f.arg == ArgKind::Index) {
    unsigned idx = 0;
    if (!parse_int(*ref.arg, idx))
      return "field '" + std::string(f.name) + "' takes a numeric index, not '" + *ref.arg + "'";
  }
  for (auto tr : ref.transformers) {
    (void)tr;
    if (f.type != FieldType::String && f.type != FieldType::Path &&
        f.type != FieldType::StringList && f.type != FieldType::Bytes)
      return "transformer '" + std::string(transformer_name(tr)) + "' needs a string field; '" +
             std::string(f.name) + "' is " + std::string(field_type_name(f.type));
  }
  ref.field_id = *id;
  return std::nullopt;
}

FieldType effective_type(const FieldRef& ref) {
  FieldType t = FieldType::String;
  if (ref.call == Call::List || (ref.call == Call::Getopt && !ref.arg))
    t = FieldType::StringList;
  else if (!ref.is_call() && ref.field_id >= 0)
    t = FieldRegistry::instance().at(ref.field_id).type;
  // Transformers apply innermost first; the outermost decides the type.
  if (!ref.transformers.empty()) {
    if (ref.transformers.front() == Transformer::Len) return FieldType::Uint64;
    if (t == FieldType::Path || t == FieldType::Bytes) return FieldType::String;
  }
  return t;
}

std::optional<std::string> check_operator(FieldType t, Op op) {
  switch (op) {
    case Op::Exists:
    case Op::Eq:
    case Op::Ne:
    case Op::In:
    case Op::Intersects:
      return std::nullopt;
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
      if (is_numeric(t)) return std::nullopt;
      return "operator '" + std::string(op_name(op)) + "' needs a numeric field, and this one is " +
             std::string(field_type_name(t));
    case Op::Contains:
    case Op::IContains:
    case Op::StartsWith:
    case Op::EndsWith:
    case Op::Glob:
    case Op::IGlob:
    case Op::Regex:
      if (is_text(t) || t == FieldType::Bytes) return std::nullopt;
      return "operator '" + std::string(op_name(op)) + "' needs a string field, and this one is " +
             std::string(field_type_name(t));
    case Op::BContains:
    case Op::BStartsWith:
      if (is_text(t) || t == FieldType::Bytes) return std::nullopt;
      return "operator '" + std::string(op_name(op)) + "' needs a string or buffer field";
    case Op::PMatch:
      if (t == FieldType::String || t == FieldType::Path) return std::nullopt;
      return "operator 'pmatch' needs a path field, and this one is " +
             std::string(field_type_name(t));
  }
  return std::nullopt;
}

std::optional<std::string> check_value(FieldType t, Op op, const std::string& v) {
  if (v.find('\0') != std::string::npos && t != FieldType::Bytes)
    return "a NUL byte (\\x00) can only be compared with a buffer field";
  if (op == Op::BContains || op == Op::BStartsWith) {
    if (!is_hex(v)) return "expected hex bytes such as 'deadbeef' (an even number of hex digits)";
    return std::nullopt;
  }
  if (op == Op::Regex) {
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re(v, o);
    if (!re.ok()) return "invalid regular expression: " + re.error();
    return std::nullopt;
  }
  switch (t) {
    case FieldType::Int64: {
      long long x;
      if (!parse_int(v, x)) return "expected a signed integer";
      break;
    }
    case FieldType::Uint64:
    case FieldType::RelTime:
    case FieldType::AbsTime: {
      unsigned long long x;
      if (!parse_int(v, x)) return "expected an unsigned integer";
      break;
    }
    case FieldType::Port: {
      unsigned x;
      if (!parse_int(v, x) || x > 65535) return "expected a port number (0-65535)";
      break;
    }
    case FieldType::Bool:
      if (v != "true" && v != "false") return "expected true or false";
      break;
    case FieldType::IpAddr:
      if (!is_ip(v)) return "expected an IPv4 or IPv6 address";
      break;
    case FieldType::IpNet:
      if (!is_net(v)) return "expected a network such as 10.0.0.0/8 or an address";
      break;
    default:
      break;
  }
  return std::nullopt;
}

CheckStatus check_condition(Node& node, const CheckOptions& opts, Diagnostics& diags) {
  return Checker(opts, diags).run(node);
}

CheckStatus check_output(OutputFormat& out, const MappedText& text, const CheckOptions& opts,
                         Diagnostics& diags) {
  CheckStatus st = CheckStatus::Ok;
  for (auto& seg : out.segments) {
    if (!seg.is_field) continue;
    bool unknown = false;
    auto err = resolve_field(seg.field, opts.source, unknown);
    if (!err) continue;
    if (unknown && opts.skip_if_unknown_filter) {
      diags.add(Diagnostic{Code::UnknownFilter,
                           ItemType::Rule,
                           opts.rule_name,
                           text.location(seg.pos),
                           *err + " in the output; the rule is skipped",
                           {},
                           0});
      return CheckStatus::UnknownFilter;
    }
    diags.add_at(Code::ErrCompileOutput, ItemType::Rule, opts.rule_name, text, seg.pos, *err);
    st = CheckStatus::Error;
  }
  return st;
}

}  // namespace pg::policy
