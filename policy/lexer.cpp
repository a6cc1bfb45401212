#include "policy/lexer.h"

#include <array>

namespace pg::policy {

bool Lexer::is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool Lexer::is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool Lexer::is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\b';
}
bool Lexer::is_bare_value_char(char c) {
  if (is_space(c)) return false;
  switch (c) {
    case '(':
    case ')':
    case ',':
    case '=':
    case '"':
    case '\'':
    case '\0':
      return false;
    default:
      return true;
  }
}

void Lexer::skip_ws() {
  while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
}

bool Lexer::accept(char c) {
  skip_ws();
  if (pos_ < text_.size() && text_[pos_] == c) {
    ++pos_;
    return true;
  }
  return false;
}

void Lexer::expect(char c, std::string_view what) {
  if (!accept(c)) {
    std::string msg = "expected '";
    msg += c;
    msg += "' ";
    msg += what;
    if (pos_ >= text_.size()) msg += " but the condition ended";
    fail(std::move(msg));
  }
}

std::string_view Lexer::peek_word() {
  skip_ws();
  std::size_t e = pos_;
  while (e < text_.size() && (is_ident_char(text_[e]) || text_[e] == '.')) ++e;
  return text_.substr(pos_, e - pos_);
}

bool Lexer::accept_word(std::string_view word) {
  skip_ws();
  if (text_.substr(pos_, word.size()) != word) return false;
  std::size_t e = pos_ + word.size();
  if (e < text_.size() && (is_ident_char(text_[e]) || text_[e] == '.')) return false;
  pos_ = e;
  return true;
}

std::optional<std::string> Lexer::scan_name() {
  skip_ws();
  if (pos_ >= text_.size() || !is_ident_start(text_[pos_])) return std::nullopt;
  std::size_t b = pos_;
  while (pos_ < text_.size() && (is_ident_char(text_[pos_]) || text_[pos_] == '.')) ++pos_;
  return std::string(text_.substr(b, pos_ - b));
}

std::optional<std::string> Lexer::scan_operator() {
  skip_ws();
  static constexpr std::array<std::string_view, 7> kSymbolic{"==", "!=", "<=", ">=", "=", "<", ">"};
  for (auto op : kSymbolic) {
    if (text_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      return std::string(op);
    }
  }
  static constexpr std::array<std::string_view, 13> kWords{
      "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob",
      "iglob",    "regex",     "in",        "intersects", "pmatch",      "exists"};
  for (auto op : kWords)
    if (accept_word(op)) return std::string(op);
  return std::nullopt;
}

std::string Lexer::scan_quoted() {
  char q = text_[pos_];
  std::size_t start = pos_;
  ++pos_;
  std::string out;
  while (true) {
    if (pos_ >= text_.size())
      fail_at(start, "unterminated quoted string (add the closing " + std::string(1, q) + ")");
    char c = text_[pos_++];
    if (c == q) break;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (pos_ >= text_.size()) fail_at(start, "unterminated quoted string (ends with '\\')");
    char e = text_[pos_++];
    switch (e) {
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case '\'':
        out += '\'';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'x': {
        // `\xHH`: one byte (Falco engine 0.63), so bytes that are not valid
        // UTF-8 can be matched. The type checker allows \x00 only for
        // buffer fields, as libs does.
        auto hex = [](char h) -> int {
          if (h >= '0' && h <= '9') return h - '0';
          if (h >= 'a' && h <= 'f') return h - 'a' + 10;
          if (h >= 'A' && h <= 'F') return h - 'A' + 10;
          return -1;
        };
        int hi = pos_ < text_.size() ? hex(text_[pos_]) : -1;
        int lo = pos_ + 1 < text_.size() ? hex(text_[pos_ + 1]) : -1;
        if (hi < 0 || lo < 0)
          fail_at(pos_ - 2, "invalid escape: '\\x' needs two hex digits, e.g. \\xFF");
        out += static_cast<char>(hi * 16 + lo);
        pos_ += 2;
        break;
      }
      // Anything else is kept as written, so regular expressions such as
      // '\d+' survive quoting unchanged.
      default:
        out += '\\';
        out += e;
        break;
    }
  }
  return out;
}

std::string Lexer::scan_value(bool& quoted) {
  skip_ws();
  quoted = false;
  if (pos_ >= text_.size()) fail("expected a value but the condition ended");
  char c = text_[pos_];
  if (c == '"' || c == '\'') {
    quoted = true;
    return scan_quoted();
  }
  std::size_t b = pos_;
  while (pos_ < text_.size() && is_bare_value_char(text_[pos_])) ++pos_;
  if (pos_ == b) fail(std::string("expected a value, found '") + c + "'");
  return std::string(text_.substr(b, pos_ - b));
}

std::string Lexer::scan_field_arg() {
  skip_ws();
  if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
    std::string s = scan_quoted();
    expect(']', "to close the field argument");
    return s;
  }
  std::size_t b = pos_;
  while (pos_ < text_.size() && text_[pos_] != ']' && text_[pos_] != '[' &&
         !is_space(text_[pos_]) && text_[pos_] != '"' && text_[pos_] != '\'')
    ++pos_;
  if (pos_ == b) fail("empty field argument '[]' (write an index, key or path inside)");
  std::string s(text_.substr(b, pos_ - b));
  expect(']', "to close the field argument");
  return s;
}

}  // namespace pg::policy
