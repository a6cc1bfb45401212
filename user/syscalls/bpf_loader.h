// The kernel side as one RAII object: open the skeleton, configure it
// (read-only globals, map sizes, which programs load), load, attach. A
// BpfSession can't be half-initialised, and destroying it detaches every
// link and frees every program and unpinned map of ours.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kern/api/records.h"
#include "policy/ruleset.h"

struct pg_bpf;
struct bpf_program;
struct bpf_link;

namespace pg::user {

// One attachable program and the evt.type names it produces.
struct HookInfo {
  std::string_view name;  // the program's name: its evt.type, unless `types` says
  bool lifecycle;         // always needed for the process table
  bpf_program* (*prog)(pg_bpf*);
  // The evt.types its events carry, when not just `name` (the fork
  // tracepoint reports clone, clone3, fork and vfork).
  std::array<std::string_view, 4> types{};
  // A syscall kernels can be built without (then it has no tracepoint):
  // pg_raw_sys_exit catches it instead when raw_syscall_fallback is on.
  bool raw_fallback = false;

  // Whether events of this evt.type come from this program.
  bool produces(std::string_view type) const;
};

// All hooks this build has, in a stable order.
const std::vector<HookInfo>& all_hooks();
// Program names, for validating user input (--syscalls).
std::vector<std::string> hook_names();
// Every evt.type some program produces.
std::vector<std::string> captured_types();
// Rule loading as this build sees it: event types outside captured_types()
// are reported (LOAD_EVTTYPE_NOT_CAPTURED) by rules validate, run and
// policy load alike.
// LOAD_ERR_KERNEL_CAPACITY too, against this build's map sizes.
policy::LoadOptions rules_load_options();
// The keyed filter maps' sizes in this build's BPF object.
policy::TableCapacity kernel_table_capacity();

struct LoadOptions {
  uint32_t ringbuf_bytes = 8u << 20;  // power of two, multiple of the page size
  // Syscall hooks to load (evt.type names). Lifecycle hooks always load.
  std::vector<std::string> syscalls;
  uint32_t self_tgid = 0;  // events of this process are dropped in the kernel
  // Catch wanted syscalls that have no tracepoint on this kernel on the raw
  // sys_exit tracepoint, which every syscall of the node passes.
  bool raw_syscall_fallback = false;
};

class BpfSession {
 public:
  static std::expected<std::unique_ptr<BpfSession>, std::string> load(const LoadOptions& opts);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

  std::expected<void, std::string> attach();
  // Attach the programs of `syscalls` (hook names) that are not attached
  // yet, while running: a policy loaded live may need a syscall no startup
  // rule did. The loaded object cannot take more programs, so they are
  // loaded from a second instance of the object whose maps are this
  // session's own (the same ring buffer, filter tables and state), then
  // attached. Returns the names newly attached. Control thread; the event
  // thread may read drops() meanwhile.
  std::expected<std::vector<std::string>, std::string> attach_more(
      const std::vector<std::string>& syscalls);
  int events_fd() const;
  // A map of the loaded object by name (pg_...), or -1.
  pg_bpf* skeleton() const { return skel_; }
  // Lost-record counters summed over CPUs, indexed by pg_drop_reason.
  std::array<uint64_t, PG_DROP__COUNT> drops() const;
  // Copies: attach_more may add to them on the control thread meanwhile.
  std::vector<std::string> attached() const;
  // Wanted syscalls this kernel has no tracepoint for, left uncaptured.
  std::vector<std::string> uncaptured() const;
  // The loaded maps, for `peregrine status`.
  struct MapInfo {
    std::string name, type;
    uint32_t max_entries = 0;
  };
  std::vector<MapInfo> maps() const;

 private:
  BpfSession() = default;
  pg_bpf* skel_ = nullptr;
  std::vector<pg_bpf*> extra_;  // instances loaded by attach_more, sharing skel_'s maps
  uint32_t self_tgid_ = 0;
  std::vector<std::string> loaded_;  // hook names with a loaded program
  std::vector<::bpf_link*> links_;
  mutable std::mutex names_mu_;  // guards attached_names_ and uncaptured_
  std::vector<std::string> attached_names_;
  std::vector<std::string> raw_names_;  // caught by pg_raw_sys_exit
  std::vector<std::string> uncaptured_;
};

// Route libbpf's own messages into spdlog (debug level; warnings as warnings).
void route_libbpf_log();

std::string_view drop_reason_name(uint32_t reason);

}  // namespace pg::user
