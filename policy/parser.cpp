#include "policy/parser.h"

#include <utility>

namespace pg::policy {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const ConditionSource* origin) : lex_(text), origin_(origin) {}

  Node parse_all() {
    if (lex_.at_end()) lex_.fail("empty condition");
    Node n = parse_or(0);
    if (!lex_.at_end()) {
      if (lex_.text()[lex_.pos()] == ')') lex_.fail("unbalanced ')' (no matching '(')");
      lex_.fail("unexpected '" + snippet() +
                "' (expected 'and', 'or' or the end of the condition)");
    }
    return n;
  }

  FieldRef parse_field_only() {
    FieldRef f = parse_field(0);
    if (!lex_.at_end()) lex_.fail("unexpected '" + snippet() + "' after the field");
    return f;
  }

 private:
  std::string snippet() {
    auto rest = lex_.text().substr(lex_.pos(), 20);
    auto nl = rest.find('\n');
    return std::string(rest.substr(0, nl));
  }

  void check_depth(int depth) {
    if (depth > kMaxConditionDepth) lex_.fail("condition nested too deeply");
  }

  Node parse_or(int depth) {
    check_depth(depth);
    std::vector<Node> parts;
    parts.push_back(parse_and(depth + 1));
    while (lex_.accept_word("or")) parts.push_back(parse_and(depth + 1));
    if (parts.size() == 1) return std::move(parts.front());
    return make_or(std::move(parts));
  }

  Node parse_and(int depth) {
    check_depth(depth);
    std::vector<Node> parts;
    parts.push_back(parse_not(depth + 1));
    while (lex_.accept_word("and")) parts.push_back(parse_not(depth + 1));
    if (parts.size() == 1) return std::move(parts.front());
    return make_and(std::move(parts));
  }

  Node parse_not(int depth) {
    check_depth(depth);
    lex_.skip_ws();
    std::size_t p = lex_.pos();
    if (lex_.accept_word("not")) {
      Node n = make_not(parse_not(depth + 1));
      n.pos = p;
      return n;
    }
    return parse_primary(depth + 1);
  }

  Node parse_primary(int depth) {
    check_depth(depth);
    lex_.skip_ws();
    std::size_t p = lex_.pos();
    if (lex_.at_end()) lex_.fail("expected a condition but the text ended");
    if (lex_.accept('(')) {
      Node n = parse_or(depth + 1);
      lex_.expect(')', "to close the '(' opened at offset " + std::to_string(p));
      return n;
    }
    auto word = lex_.peek_word();
    if (word == "and" || word == "or")
      lex_.fail("'" + std::string(word) + "' needs a condition on its left");
    if (word.empty() || !Lexer::is_ident_start(word[0]))
      lex_.fail("expected a field, a macro name or '(' but found '" + snippet() + "'");
    if (word.find('.') == std::string_view::npos) {
      // A transformer call `tolower(...)` or a macro reference.
      std::size_t save = lex_.pos();
      (void)lex_.scan_name();
      bool call = lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '(';
      lex_.set_pos(save);
      if (!call || (!transformer_from_name(word) && !call_from_name(word))) {
        if (call && word != "not")
          lex_.fail("unknown transformer '" + std::string(word) +
                    "' (known: tolower, toupper, b64, basename, len, join, concat, getopt)");
        Node n;
        n.kind = NodeKind::Macro;
        n.macro = *lex_.scan_name();
        n.pos = p;
        n.origin = origin_;
        return n;
      }
    }
    return parse_check(depth + 1);
  }

  FieldRef parse_field(int depth) {
    check_depth(depth);
    lex_.skip_ws();
    FieldRef f;
    f.pos = lex_.pos();
    auto name = lex_.scan_name();
    if (!name) lex_.fail("expected a field name, found '" + snippet() + "'");
    if (auto t = transformer_from_name(*name);
        t && lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '(') {
      lex_.set_pos(lex_.pos() + 1);
      FieldRef inner = parse_field(depth + 1);
      lex_.expect(')', "to close the transformer '" + *name + "('");
      inner.transformers.insert(inner.transformers.begin(), *t);
      inner.pos = f.pos;
      return inner;
    }
    if (auto c = call_from_name(*name);
        c && lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '(') {
      lex_.set_pos(lex_.pos() + 1);
      f.call = *c;
      do {
        f.args.push_back(parse_call_arg(depth + 1, true));
      } while (lex_.accept(','));
      lex_.expect(')', "to close '" + *name + "('");
      if (lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '[') {
        lex_.set_pos(lex_.pos() + 1);
        f.arg = lex_.scan_field_arg();
      }
      return f;
    }
    if (name->find('.') == std::string::npos)
      lex_.fail_at(f.pos, "'" + *name + "' is not a field (fields look like 'proc.name')");
    if (name->back() == '.' || name->find("..") != std::string::npos)
      lex_.fail_at(f.pos, "malformed field name '" + *name + "'");
    f.name = std::move(*name);
    if (lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '[') {
      lex_.set_pos(lex_.pos() + 1);
      f.arg = lex_.scan_field_arg();
    }
    return f;
  }

  // An argument of join/concat/getopt: a quoted string or a number, a field
  // or transformer call, or (when `list_ok`) a list `(a, b, ...)` of those.
  FieldRef parse_call_arg(int depth, bool list_ok) {
    check_depth(depth);
    lex_.skip_ws();
    FieldRef a;
    a.pos = lex_.pos();
    auto text = lex_.text();
    if (a.pos >= text.size()) lex_.fail("expected a transformer argument but the text ended");
    char c = text[a.pos];
    if (c == '"' || c == '\'') {
      bool quoted = false;
      a.call = Call::Literal;
      a.literal = lex_.scan_value(quoted);
      return a;
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
      std::size_t e = a.pos + 1;
      while (e < text.size() && (Lexer::is_ident_char(text[e]) || text[e] == '.')) ++e;
      a.call = Call::Literal;
      a.literal = std::string(text.substr(a.pos, e - a.pos));
      lex_.set_pos(e);
      return a;
    }
    if (c == '(') {
      if (!list_ok) lex_.fail("a list cannot hold another list");
      lex_.set_pos(a.pos + 1);
      a.call = Call::List;
      if (!lex_.accept(')')) {
        do {
          a.args.push_back(parse_call_arg(depth + 1, false));
        } while (lex_.accept(','));
        lex_.expect(')', "to close the list");
      }
      return a;
    }
    return parse_field(depth + 1);
  }

  Value parse_value() {
    lex_.skip_ws();
    Value v;
    v.pos = lex_.pos();
    v.text = lex_.scan_value(v.quoted);
    return v;
  }

  // `OP oneof|anyof|allof (v, ...)` or `OP anyof list_name`. As in libs'
  // parser, the modifier word is one only when a blank separates it from
  // the operator and from what follows, and a list or a name (not `and`,
  // `or`, `not`) follows; otherwise it is an ordinary value, so
  // `proc.name = oneof` still compares with the word "oneof".
  bool parse_modifier(Node& n, std::size_t after_op) {
    const std::size_t save = lex_.pos();
    auto text = lex_.text();
    auto blank_at = [&](std::size_t p) { return p < text.size() && Lexer::is_space(text[p]); };
    if (!blank_at(after_op)) return false;
    lex_.skip_ws();
    std::size_t word_pos = lex_.pos();
    std::size_t e = word_pos;
    while (e < text.size() && Lexer::is_ident_char(text[e])) ++e;
    auto mod = modifier_from_name(text.substr(word_pos, e - word_pos));
    if (!mod || !blank_at(e)) {
      lex_.set_pos(save);
      return false;
    }
    lex_.set_pos(e);
    lex_.skip_ws();
    std::size_t p = lex_.pos();
    if (lex_.accept('(')) {
      n.mod = *mod;
      n.rhs = RhsKind::List;
      if (!lex_.accept(')')) {
        do {
          n.values.push_back(parse_value());
        } while (lex_.accept(','));
        lex_.expect(')', "to close the list");
      }
      return true;
    }
    if (p < text.size() && Lexer::is_ident_start(text[p])) {
      std::size_t q = p;
      while (q < text.size() && Lexer::is_ident_char(text[q])) ++q;
      auto name = text.substr(p, q - p);
      if (name != "and" && name != "or" && name != "not") {
        n.mod = *mod;
        n.rhs = RhsKind::List;
        n.values.push_back(Value{std::string(name), false, p});  // a list's name
        lex_.set_pos(q);
        return true;
      }
    }
    lex_.set_pos(save);
    return false;
  }

  Node parse_check(int depth) {
    Node n;
    n.origin = origin_;
    n.field = parse_field(depth);
    n.pos = n.field.pos;
    lex_.skip_ws();
    std::size_t op_pos = lex_.pos();
    auto op_text = lex_.scan_operator();
    if (!op_text) {
      if (lex_.at_end()) lex_.fail("missing operator after '" + to_string(n.field) + "'");
      lex_.fail("unknown operator '" + snippet() + "' after '" + to_string(n.field) + "'");
    }
    auto op = op_from_name(*op_text);
    if (!op) lex_.fail_at(op_pos, "unknown operator '" + *op_text + "'");
    const std::size_t after_op = lex_.pos();
    n.op = *op;
    if (n.op == Op::Exists) {
      n.kind = NodeKind::Exists;
      return n;
    }
    n.kind = NodeKind::Compare;
    lex_.skip_ws();
    if (op_takes_list(n.op)) {
      if (!lex_.accept('(')) {
        if (lex_.accept_word("val"))
          lex_.fail_at(op_pos, "'" + *op_text + "' takes a list, not val()");
        lex_.fail("'" + *op_text + "' needs a list in parentheses, e.g. (a, b)");
      }
      n.rhs = RhsKind::List;
      if (!lex_.accept(')')) {
        do {
          n.values.push_back(parse_value());
        } while (lex_.accept(','));
        lex_.expect(')', "to close the list");
      }
      return n;
    }
    if (op_takes_modifier(n.op) && parse_modifier(n, after_op)) return n;
    // val(field) on the right-hand side compares two fields.
    std::size_t save = lex_.pos();
    if (lex_.accept_word("val") && lex_.accept('(')) {
      n.rhs = RhsKind::Field;
      n.rhs_field = parse_field(depth + 1);
      lex_.expect(')', "to close 'val('");
      return n;
    }
    lex_.set_pos(save);
    if (lex_.pos() < lex_.text().size() && lex_.text()[lex_.pos()] == '(')
      lex_.fail("'" + *op_text + "' takes a single value; use 'in' for a list");
    n.rhs = RhsKind::Single;
    n.values.push_back(parse_value());
    return n;
  }

  Lexer lex_;
  const ConditionSource* origin_;
};

}  // namespace

pg::Expected<Node, ParseError> parse_condition(std::string_view text,
                                               const ConditionSource* origin) {
  try {
    Parser p(text, origin);
    return p.parse_all();
  } catch (ParseError& e) {
    return pg::Unexpected(std::move(e));
  }
}

pg::Expected<FieldRef, ParseError> parse_field_ref(std::string_view text) {
  try {
    Parser p(text, nullptr);
    return p.parse_field_only();
  } catch (ParseError& e) {
    return pg::Unexpected(std::move(e));
  }
}

}  // namespace pg::policy
