// Character-level scanning for Falco filter conditions. The language is
// context sensitive (after an operator, `<` is a value, not an operator), so
// the parser drives the lexer: it asks for the kind of token it expects.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pg::policy {

// Thrown inside the parser only; parse_condition() converts it at its edge.
struct ParseError {
  std::string message;
  std::size_t pos = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t p) { pos_ = p; }
  bool at_end() {
    skip_ws();
    return pos_ >= text_.size();
  }
  std::string_view text() const { return text_; }

  void skip_ws();
  // Consumes `c` (after whitespace) if it is next.
  bool accept(char c);
  void expect(char c, std::string_view what);
  // Consumes the word if it is next and not followed by an identifier char.
  bool accept_word(std::string_view word);
  // Peeks a word (letters, digits, '_' and '.') without consuming it.
  std::string_view peek_word();
  // `name` or `a.b.c` (identifier characters and dots).
  std::optional<std::string> scan_name();
  // A comparison operator (symbolic or word); nullopt when none is next.
  std::optional<std::string> scan_operator();
  // A value: quoted string or bare word. Sets `quoted`.
  std::string scan_value(bool& quoted);
  // The inside of `[...]` after '[' has been consumed.
  std::string scan_field_arg();

  [[noreturn]] void fail(std::string message) const { throw ParseError{std::move(message), pos_}; }
  [[noreturn]] void fail_at(std::size_t p, std::string message) const {
    throw ParseError{std::move(message), p};
  }

  static bool is_ident_start(char c);
  static bool is_ident_char(char c);
  static bool is_space(char c);
  static bool is_bare_value_char(char c);

 private:
  std::string scan_quoted();

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace pg::policy
