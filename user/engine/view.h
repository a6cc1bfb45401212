// What a rule sees of one event. Every event source has its own view type,
// all starting with the common `View` header; a rule is compiled for one
// source, so its extractors know which concrete view they are given (the
// engine only hands a rule events of the rule's source). Views are built
// once per event, by reference, so evaluation allocates nothing for them.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "policy/fields.h"
#include "user/cgroup.h"
#include "user/event.h"
#include "user/process.h"

namespace pg::user::container {
class Metadata;
}

namespace pg::user::engine {

struct View {
  policy::EventSource source = policy::EventSource::Syscall;
  uint64_t num = 0;  // event number within its source
  std::string_view hostname;
  int64_t time_ns = 0;  // wall-clock time of the event, ns since the epoch
};

// A syscall event: the decoded event, the process it belongs to, and the
// process table for ancestry.
struct EventView : View {
  EventView(const Event& e, const ProcessTable& table, const Process* p, uint64_t n = 0,
            std::string_view host = {}, CgroupMap* cg = nullptr,
            const container::Metadata* md = nullptr)
      : View{policy::EventSource::Syscall, n, host, int64_t(e.time_ns)},
        evt(e),
        procs(table),
        proc(p),
        cgroups(cg),
        containers(md) {}
  const Event& evt;
  const ProcessTable& procs;
  const Process* proc;           // null if the table does not know the process
  CgroupMap* cgroups = nullptr;  // cgroup id → path; null: container.* unknown
  // Runtime metadata (names, images, pods); null: only id and type known.
  const container::Metadata* containers = nullptr;
};

// A Kubernetes audit event (one audit.k8s.io Event object, already parsed).
struct AuditView : View {
  AuditView(const nlohmann::json& d, int64_t t, uint64_t n = 0, std::string_view host = {})
      : View{policy::EventSource::K8sAudit, n, host, t}, doc(d) {}
  const nlohmann::json& doc;
};

// A field value during evaluation. Strings point into the event, the
// process table, or the caller's scratch buffer, and live until the next
// extraction into that scratch.
struct Value {
  // List: several strings (proc.aname without an index: every ancestor;
  // list-valued fields such as ka.req.pod.containers.image). Comparisons
  // hold if they hold for any element, except `in` on a list-typed field,
  // which (as in Falco) needs every element in the set.
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
