// Source bookkeeping: rules files kept in memory (for caret excerpts) and
// condition texts that remember where each character came from, even after
// `append` joined pieces from several files.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/location.h"

namespace pg::policy {

struct SourceFile {
  std::string path;
  std::string content;
  std::vector<std::string_view> lines;  // views into content, without '\n'

  static std::shared_ptr<SourceFile> make(std::string path, std::string content);
  std::string_view line(int n) const;  // 1-based; empty when out of range
};

enum class ItemType {
  None,
  RequiredEngineVersion,
  RequiredPluginVersions,
  Rule,
  Macro,
  List,
  Exception
};
std::string_view item_type_name(ItemType t);

// A span of text (a YAML scalar's value) mapped back to its file position.
class MappedText {
 public:
  MappedText() = default;
  // `loc` is the scalar's position (yaml-cpp mark, 1-based here).
  MappedText(std::string text, std::shared_ptr<const SourceFile> file, Location loc);

  const std::string& text() const { return text_; }
  Location location(std::size_t offset) const;             // file:line:col of a char
  std::string_view source_line(std::size_t offset) const;  // for carets
  Location start() const { return location(0); }
  // `this + " " + other`, as Falco's textual append does.
  void append(const MappedText& other);
  bool empty() const { return text_.empty(); }

 private:
  struct Segment {
    std::size_t offset;  // into text_
    std::shared_ptr<const SourceFile> file;
    int line;
    int col;
    bool exact;  // false: only the scalar start is known
  };
  std::string text_;
  std::vector<Segment> segments_;
};

// The text a condition node was parsed from, with the item that owns it.
struct ConditionSource {
  ItemType item_type = ItemType::None;
  std::string item_name;
  MappedText text;
};

}  // namespace pg::policy
