#include "policy/ast.h"

#include <array>
#include <utility>

namespace pg::policy {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 19> kOps{{
    {Op::Eq, "="},
    {Op::Ne, "!="},
    {Op::Lt, "<"},
    {Op::Le, "<="},
    {Op::Gt, ">"},
    {Op::Ge, ">="},
    {Op::Contains, "contains"},
    {Op::IContains, "icontains"},
    {Op::BContains, "bcontains"},
    {Op::StartsWith, "startswith"},
    {Op::BStartsWith, "bstartswith"},
    {Op::EndsWith, "endswith"},
    {Op::Glob, "glob"},
    {Op::IGlob, "iglob"},
    {Op::Regex, "regex"},
    {Op::In, "in"},
    {Op::Intersects, "intersects"},
    {Op::PMatch, "pmatch"},
    {Op::Exists, "exists"},
}};

constexpr std::array<std::pair<Transformer, std::string_view>, 5> kTransformers{{
    {Transformer::ToLower, "tolower"},
    {Transformer::ToUpper, "toupper"},
    {Transformer::B64, "b64"},
    {Transformer::Basename, "basename"},
    {Transformer::Len, "len"},
}};

bool is_bare_char(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\b':
    case '\f':
    case '\v':
    case '(':
    case ')':
    case ',':
    case '=':
    case '"':
    case '\'':
    case '\\':
      return false;
    default:
      return static_cast<unsigned char>(c) >= 0x20;
  }
}

void print(const Node& n, std::string& out);

void print_list(const std::vector<Value>& values, std::string& out) {
  out += '(';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += quote_value(values[i].text);
  }
  out += ')';
}

void print_join(const Node& n, std::string_view sep, std::string& out) {
  out += '(';
  for (std::size_t i = 0; i < n.children.size(); ++i) {
    if (i) out += sep;
    print(n.children[i], out);
  }
  out += ')';
}

void print(const Node& n, std::string& out) {
  switch (n.kind) {
    case NodeKind::And:
      print_join(n, " and ", out);
      return;
    case NodeKind::Or:
      print_join(n, " or ", out);
      return;
    case NodeKind::Not:
      out += "not ";
      print(n.children.at(0), out);
      return;
    case NodeKind::Macro:
      out += n.macro;
      return;
    case NodeKind::Bool:
      out += n.bool_value ? "true" : "false";
      return;
    case NodeKind::Exists:
      out += to_string(n.field);
      out += " exists";
      return;
    case NodeKind::Compare:
      out += to_string(n.field);
      out += ' ';
      out += op_name(n.op);
      out += ' ';
      if (n.mod != Modifier::None) {
        out += modifier_name(n.mod);
        out += ' ';
      }
      switch (n.rhs) {
        case RhsKind::List:
          print_list(n.values, out);
          break;
        case RhsKind::Field:
          out += "val(" + to_string(n.rhs_field) + ")";
          break;
        case RhsKind::Single:
          out += quote_value(n.values.at(0).text);
          break;
        case RhsKind::None:
          break;
      }
      return;
  }
}

}  // namespace

std::string_view op_name(Op op) {
  for (const auto& [o, s] : kOps)
    if (o == op) return s;
  return "?";
}

std::optional<Op> op_from_name(std::string_view s) {
  if (s == "==") return Op::Eq;
  for (const auto& [o, name] : kOps)
    if (name == s) return o;
  return std::nullopt;
}

bool op_takes_list(Op op) { return op == Op::In || op == Op::Intersects || op == Op::PMatch; }

bool op_takes_modifier(Op op) {
  switch (op) {
    case Op::Eq:
    case Op::Ne:
    case Op::Contains:
    case Op::IContains:
    case Op::BContains:
    case Op::StartsWith:
    case Op::BStartsWith:
    case Op::EndsWith:
    case Op::Glob:
    case Op::IGlob:
    case Op::Regex:
      return true;
    default:
      return false;
  }
}

std::string_view modifier_name(Modifier m) {
  switch (m) {
    case Modifier::OneOf:
      return "oneof";
    case Modifier::AnyOf:
      return "anyof";
    case Modifier::AllOf:
      return "allof";
    case Modifier::None:
      break;
  }
  return "";
}

std::optional<Modifier> modifier_from_name(std::string_view s) {
  if (s == "oneof") return Modifier::OneOf;
  if (s == "anyof") return Modifier::AnyOf;
  if (s == "allof") return Modifier::AllOf;
  return std::nullopt;
}

std::optional<Comparator> comparator_from_name(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  std::size_t sp = 0;
  while (sp < s.size() && !blank(s[sp])) ++sp;
  auto op = op_from_name(s.substr(0, sp));
  if (!op) return std::nullopt;
  std::string_view rest = s.substr(sp);
  while (!rest.empty() && blank(rest.front())) rest.remove_prefix(1);
  if (rest.empty()) return Comparator{*op, Modifier::None};
  auto mod = modifier_from_name(rest);
  if (!mod || !op_takes_modifier(*op)) return std::nullopt;
  return Comparator{*op, *mod};
}

std::string_view transformer_name(Transformer t) {
  for (const auto& [x, s] : kTransformers)
    if (x == t) return s;
  return "?";
}

std::optional<Transformer> transformer_from_name(std::string_view s) {
  for (const auto& [x, name] : kTransformers)
    if (name == s) return x;
  return std::nullopt;
}

namespace {
// Builds an And/Or, flattening children of the same kind; a single child
// is returned as is.
Node make_join(NodeKind kind, std::vector<Node> children) {
  std::vector<Node> flat;
  for (auto& c : children) {
    if (c.kind == kind)
      for (auto& g : c.children) flat.push_back(std::move(g));
    else
      flat.push_back(std::move(c));
  }
  if (flat.size() == 1) {
    Node only = std::move(flat.front());
    return only;
  }
  Node n;
  n.kind = kind;
  if (!flat.empty()) {
    n.pos = flat.front().pos;
    n.origin = flat.front().origin;
  }
  n.children = std::move(flat);
  return n;
}
}  // namespace

Node make_and(std::vector<Node> children) { return make_join(NodeKind::And, std::move(children)); }
Node make_or(std::vector<Node> children) { return make_join(NodeKind::Or, std::move(children)); }

Node make_not(Node child) {
  Node n;
  n.kind = NodeKind::Not;
  n.pos = child.pos;
  n.origin = child.origin;
  n.children.push_back(std::move(child));
  return n;
}

std::string quote_value(std::string_view v) {
  bool bare = !v.empty();
  for (char c : v)
    if (!is_bare_char(c)) bare = false;
  // Words the parser would read as keywords must be quoted to round-trip.
  if (v == "and" || v == "or" || v == "not" || v.starts_with("val(")) bare = false;
  if (bare) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
          out += kHex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string_view call_name(Call c) {
  switch (c) {
    case Call::Join:
      return "join";
    case Call::Concat:
      return "concat";
    case Call::Getopt:
      return "getopt";
    case Call::List:
    case Call::Literal:
    case Call::None:
      break;
  }
  return "";
}

std::optional<Call> call_from_name(std::string_view s) {
  if (s == "join") return Call::Join;
  if (s == "concat") return Call::Concat;
  if (s == "getopt") return Call::Getopt;
  return std::nullopt;
}

std::string to_string(const FieldRef& ref) {
  std::string s = ref.name;
  if (ref.call == Call::Literal) {
    // Always quoted: a bare word here would read as a field.
    s = quote_value(ref.literal);
    if (s.empty() || s.front() != '"') s = "\"" + s + "\"";
  } else if (ref.is_call()) {
    s = std::string(call_name(ref.call)) + "(";
    for (std::size_t i = 0; i < ref.args.size(); ++i) {
      if (i) s += ", ";
      s += to_string(ref.args[i]);
    }
    s += ')';  // a List prints as `(a, b)`: call_name(List) is empty
  }
  if (ref.arg) {
    // A bare argument stops at blanks, brackets and quotes; quote otherwise.
    bool bare = !ref.arg->empty();
    for (char c : *ref.arg)
      if (c == '[' || c == ']' || c == '"' || c == '\'' || c == '\\' ||
          static_cast<unsigned char>(c) <= ' ')
        bare = false;
    std::string quoted = quote_value(*ref.arg);
    if (!bare && quoted.front() != '"') quoted = "\"" + quoted + "\"";
    s += "[" + (bare ? *ref.arg : quoted) + "]";
  }
  for (auto it = ref.transformers.rbegin(); it != ref.transformers.rend(); ++it)
    s = std::string(transformer_name(*it)) + "(" + s + ")";
  return s;
}

std::string to_string(const Node& node) {
  std::string out;
  print(node, out);
  return out;
}

}  // namespace pg::policy
