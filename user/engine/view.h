// What a rule sees of one event: the decoded event, the process it belongs
// to, and the process table for ancestry. Built once per event, by
// reference, so evaluation allocates nothing for the view itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "user/cgroup.h"
#include "user/event.h"
#include "user/process.h"

namespace pg::user::container {
class Metadata;
}

namespace pg::user::engine {

struct EventView {
  const Event& evt;
  const ProcessTable& procs;
  const Process* proc;  // null if the table does not know the process
  uint64_t num = 0;     // evt.num
  std::string_view hostname;
  CgroupMap* cgroups = nullptr;  // cgroup id → path; null: container.* unknown
  // Runtime metadata (names, images, pods); null: only id and type known.
  const container::Metadata* containers = nullptr;
};

// A field value during evaluation. Strings point into the event, the
// process table, or the caller's scratch buffer, and live until the next
// extraction into that scratch.
struct Value {
  // List: several strings (proc.aname without an index: every ancestor);
  // a comparison holds if it holds for any element.
  enum class Kind : uint8_t { NA, Str, Int, Bool, List } kind = Kind::NA;
  std::string_view str;
  int64_t num = 0;
  const std::vector<std::string>* list = nullptr;

  static Value na() { return {}; }
  static Value of(std::string_view s) { return {Kind::Str, s, 0, nullptr}; }
  static Value of_int(int64_t n) { return {Kind::Int, {}, n, nullptr}; }
  static Value of_bool(bool b) { return {Kind::Bool, {}, b ? 1 : 0, nullptr}; }
  static Value of_list(const std::vector<std::string>* l) { return {Kind::List, {}, 0, l}; }
  bool is_na() const { return kind == Kind::NA; }
};

}  // namespace pg::user::engine
