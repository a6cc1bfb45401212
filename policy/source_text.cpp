#include "policy/source_text.h"

#include <algorithm>

namespace pg::policy {

std::shared_ptr<SourceFile> SourceFile::make(std::string path, std::string content) {
  auto f = std::make_shared<SourceFile>();
  f->path = std::move(path);
  f->content = std::move(content);
  std::string_view c = f->content;
  std::size_t b = 0;
  while (b <= c.size()) {
    auto e = c.find('\n', b);
    if (e == std::string_view::npos) e = c.size();
    auto l = c.substr(b, e - b);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    f->lines.push_back(l);
    b = e + 1;
  }
  return f;
}

std::string_view SourceFile::line(int n) const {
  if (n < 1 || static_cast<std::size_t>(n) > lines.size()) return {};
  return lines[static_cast<std::size_t>(n - 1)];
}

std::string_view item_type_name(ItemType t) {
  switch (t) {
    case ItemType::None:
      return "file";
    case ItemType::RequiredEngineVersion:
      return "required_engine_version";
    case ItemType::RequiredPluginVersions:
      return "required_plugin_versions";
    case ItemType::Rule:
      return "rule";
    case ItemType::Macro:
      return "macro";
    case ItemType::List:
      return "list";
    case ItemType::Exception:
      return "exception";
  }
  return "?";
}

MappedText::MappedText(std::string text, std::shared_ptr<const SourceFile> file, Location loc)
    : text_(std::move(text)) {
  if (!file || loc.line == 0) {
    segments_.push_back({0, file, loc.line, loc.col, false});
    return;
  }
  // Find each source line's content in the scalar's text, in order. This
  // maps plain, quoted (without escapes), folded and literal scalars; when a
  // piece is not found (escapes), positions fall back to the scalar start.
  segments_.push_back({0, file, loc.line, loc.col, false});
  std::size_t cursor = 0;
  for (int ln = loc.line; ln <= static_cast<int>(file->lines.size()) && cursor < text_.size();
       ++ln) {
    std::string_view l = file->line(ln);
    std::size_t from = 0;
    if (ln == loc.line) {
      from = std::min<std::size_t>(static_cast<std::size_t>(loc.col - 1), l.size());
      auto rest = l.substr(from);
      if (!rest.empty() && (rest[0] == '>' || rest[0] == '|')) continue;  // block indicator
      if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) ++from;
    }
    while (from < l.size() && (l[from] == ' ' || l[from] == '\t')) ++from;
    auto content = l.substr(from);
    while (!content.empty() &&
           (content.back() == ' ' || content.back() == '"' || content.back() == '\''))
      content.remove_suffix(1);
    if (content.empty()) continue;
    // A comment line inside a plain scalar ends it; stop there.
    auto at = text_.find(content, cursor);
    bool gap_is_space =
        at != std::string::npos && at >= cursor && text_.find_first_not_of(" \t\n", cursor) >= at;
    if (!gap_is_space) {
      if (ln != loc.line) break;
      continue;
    }
    segments_.push_back({at, file, ln, static_cast<int>(from) + 1, true});
    cursor = at + content.size();
  }
}

Location MappedText::location(std::size_t offset) const {
  if (segments_.empty()) return {};
  const Segment* s = &segments_.front();
  for (const auto& seg : segments_)
    if (seg.offset <= offset) s = &seg;
  Location loc{s->file ? s->file->path : std::string(), s->line, s->col};
  if (s->exact) loc.col += static_cast<int>(offset - s->offset);
  return loc;
}

std::string_view MappedText::source_line(std::size_t offset) const {
  if (segments_.empty()) return {};
  const Segment* s = &segments_.front();
  for (const auto& seg : segments_)
    if (seg.offset <= offset) s = &seg;
  if (!s->exact || !s->file) return {};
  return s->file->line(s->line);
}

void MappedText::append(const MappedText& other) {
  std::size_t base = text_.size() + 1;
  text_ += ' ';
  text_ += other.text_;
  for (auto seg : other.segments_) {
    seg.offset += base;
    segments_.push_back(std::move(seg));
  }
}

}  // namespace pg::policy
