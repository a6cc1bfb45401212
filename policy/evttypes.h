// Event-type names and the set of event types a condition can match, as
// Falco computes it: the engine indexes rules by it and the kernel attaches
// only the syscalls some rule needs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"

namespace pg::policy {

// Known syscall event-type names (x86_64 syscalls plus Falco's non-syscall
// events such as procexit or container), sorted.
std::span<const std::string> known_event_types();
bool is_known_event_type(std::string_view name);

// The event types a rule may match. `all` is true when the condition does
// not restrict evt.type (then `names` lists every known type).
struct EventTypeSet {
  bool all = true;
  std::vector<std::string> names;  // sorted
};

// `node` must be expanded (no macro references). Sound: an event whose type
// is not in the set can never satisfy the condition. Fields are matched by
// name (evt.type), so it works on checked and unchecked trees alike.
EventTypeSet compute_event_types(const Node& node);

}  // namespace pg::policy
