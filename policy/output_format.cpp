#include "policy/output_format.h"

#include "policy/lexer.h"
#include "policy/parser.h"

namespace pg::policy {

pg::Expected<OutputFormat, OutputError> parse_output(std::string_view text) {
  OutputFormat out;
  out.text = std::string(text);
  std::string literal;
  std::size_t literal_pos = 0;
  auto flush = [&] {
    if (!literal.empty()) {
      OutputSegment s;
      s.text = std::move(literal);
      s.pos = literal_pos;
      out.segments.push_back(std::move(s));
      literal.clear();
    }
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '%' || i + 1 >= text.size() || !Lexer::is_ident_start(text[i + 1])) {
      if (literal.empty()) literal_pos = i;
      literal += c;
      ++i;
      continue;
    }
    std::size_t start = i;
    std::size_t j = i + 1;
    while (j < text.size() && (Lexer::is_ident_char(text[j]) || text[j] == '.')) ++j;
    std::string_view name = text.substr(i + 1, j - i - 1);
    std::size_t end = j;
    if (j < text.size() && text[j] == '(' &&
        (transformer_from_name(name) || call_from_name(name))) {
      // %tolower(proc.name), %join(",", (a, b)): up to the matching ')',
      // skipping quoted strings, then getopt's [c] if one follows.
      int depth = 0;
      char quote = 0;
      for (end = j; end < text.size(); ++end) {
        char ch = text[end];
        if (quote) {
          if (ch == '\\')
            ++end;
          else if (ch == quote)
            quote = 0;
          continue;
        }
        if (ch == '"' || ch == '\'') quote = ch;
        if (ch == '(') ++depth;
        if (ch == ')' && --depth == 0) break;
      }
      if (end >= text.size())
        return pg::Unexpected(
            OutputError{"unclosed '(' in %" + std::string(name) + "(...)", start});
      ++end;
      if (end < text.size() && text[end] == '[' && call_from_name(name)) {
        auto close = text.find(']', end);
        if (close == std::string_view::npos)
          return pg::Unexpected(OutputError{"unclosed '[' after %" + std::string(name), start});
        end = close + 1;
      }
    } else if (j < text.size() && text[j] == '[') {
      auto close = text.find(']', j);
      if (close == std::string_view::npos)
        return pg::Unexpected(OutputError{"unclosed '[' after %" + std::string(name), start});
      end = close + 1;
    }
    while (name.ends_with('.')) {  // "%proc.name." ends a sentence
      name.remove_suffix(1);
      if (end == j) --end;
      --j;
    }
    auto ref = parse_field_ref(text.substr(i + 1, end - i - 1));
    if (!ref)
      return pg::Unexpected(OutputError{"bad field reference '%" +
                                            std::string(text.substr(i + 1, end - i - 1)) +
                                            "': " + ref.error().message,
                                        start});
    flush();
    OutputSegment s;
    s.is_field = true;
    s.field = std::move(*ref);
    s.field.pos = start;
    s.pos = start;
    out.segments.push_back(std::move(s));
    i = end;
  }
  flush();
  return out;
}

}  // namespace pg::policy
