// The field registry: every field a condition or output may name, with its
// type, argument form, event source and how the kernel half judges it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pg::policy {

enum class FieldType {
  String,      // text
  Path,        // text that is a filesystem path (pmatch applies)
  Int64,       // signed integer
  Uint64,      // unsigned integer
  Bool,        // true/false
  IpAddr,      // IPv4/IPv6 address
  IpNet,       // address or CIDR network
  Port,        // 0..65535
  RelTime,     // duration in nanoseconds
  AbsTime,     // timestamp in nanoseconds since the epoch
  Bytes,       // raw buffer (bcontains/bstartswith take hex)
  StringList,  // several strings (in/intersects compare element-wise)
};
std::string_view field_type_name(FieldType t);

// What may follow the name: `proc.aname[2]` (index), `proc.env[HOME]`
// (key), `evt.arg[0]` / `evt.arg[flags]` / `evt.arg.flags` (either).
enum class ArgKind : std::uint8_t { None, Index, Key, IndexOrKey };

// Event sources a field belongs to (bit mask).
enum SourceMask : std::uint8_t { kSrcSyscall = 1, kSrcK8sAudit = 2, kSrcAll = 3 };

enum class EventSource { Syscall, K8sAudit };
std::string_view source_name(EventSource s);
std::optional<EventSource> source_from_name(std::string_view s);

// How the kernel half judges comparisons on the field (policy/lowering.h):
// which kernel fact (enum pg_ffield) it lowers to and by which rule.
// Lowering dispatches on this, never on the field's name; None means
// "userspace only". `peregrine fields` prints what lowering then does, and
// selftests/unit/policy/kernel_hint_test.cpp keeps the two in step.
enum class KernelForm : std::uint8_t {
  None,
  EventType,  // evt.type, syscall.type: the clause's filtered syscalls
  // Facts of an open's class (PG_FF_CLASS: access mode, O_CREAT, O_PATH,
  // directory, failed), judged by trying every class.
  OpenIsRead,
  OpenIsWrite,
  OpenIsExec,
  OpenIsCreate,
  Failed,     // evt.failed
  Result,     // evt.res: SUCCESS or an error name
  RawResult,  // evt.rawres
  FdNum,      // the descriptor an open returns
  // fd.type / fd.typechar: file or directory for opens (PG_FF_CLASS), the
  // socket family for connects (PG_FF_FAMILY).
  FdType,
  FdTypeChar,
  // evt.arg: an open's flags (`contains O_CREAT`, PG_FF_CLASS) and the first
  // path argument of path operations (PG_FF_ARG).
  EventArg,
  Container,     // PG_FF_CONTAINER: host or some container
  ExeFromMemfd,  // PG_FF_MEMFD, kept with the exec's proc.exe
  RawDotDot,     // PG_FF_RAW: the name as passed contains "../"
  Comm,          // PG_FF_COMM value set (15 characters)
  ParentComm,    // PG_FF_PCOMM value set
  Uid,           // PG_FF_UID value set
  UserName,      // PG_FF_UID: the uids the host's user database gives the names
  Port,          // PG_FF_PORT value set
  // Paths of opens, in the path tries (PG_FF_PATH, PG_FF_SUFFIX, PG_FF_TOPLEVEL).
  FdName,       // exact, prefix, suffix, glob
  FdDirectory,  // as a prefix "dir/"
  FdFilename,   // as a suffix "/name"
  Exe,          // PG_FF_EXE: exact or prefix, as the exec set it
  Args,         // PG_FF_ARGS: exact or prefix, as the exec set it
};
std::string_view kernel_form_name(KernelForm k);

struct FieldInfo {
  std::string_view name;
  FieldType type;
  ArgKind arg;
  bool arg_required;
  bool dotted;           // `name.key` is accepted as `name[key]`
  std::uint8_t sources;  // SourceMask
  KernelForm kernel;     // how lowering judges it in the kernel
  std::string_view desc;
  // Fixed by the process's exec (and its comm): the same for every event
  // of the process, and of children it forks, until the next exec, as long
  // as the comm is the one at the exec. Conditions over such fields only
  // are judged by userspace once per exec (PG_FF_IMAGE, kern/api/filter.h).
  bool image = false;

  bool in_source(EventSource s) const {
    return sources & (s == EventSource::Syscall ? kSrcSyscall : kSrcK8sAudit);
  }
};

// The registry is a constant table; ids are indexes into it.
class FieldRegistry {
 public:
  static const FieldRegistry& instance();

  std::span<const FieldInfo> all() const { return fields_; }
  const FieldInfo& at(int id) const { return fields_[static_cast<std::size_t>(id)]; }
  std::optional<int> find(std::string_view name) const;

  // Resolves `evt.arg.flags` to ("evt.arg", "flags"). Returns the id and,
  // through `dotted_arg`, the argument carried in the name.
  std::optional<int> resolve(std::string_view name, std::optional<std::string>& dotted_arg) const;

  // Whether this build extracts the field for events of `s`. The registry
  // lists every field Falco's rules may name; the few this build has no
  // extractor for (fields_unavailable.cpp) are always <NA>, and loading a
  // rule that uses one warns (LOAD_FIELD_UNAVAILABLE). A unit test
  // (selftests/unit/user/field_extractors_test.cpp) keeps this exact.
  bool extracted(int id, EventSource s) const;

  // Closest known name for "did you mean" (edit distance <= 3), or empty.
  std::string suggest(std::string_view name) const;

 private:
  FieldRegistry();
  std::vector<FieldInfo> fields_;
  std::vector<std::uint8_t> unavailable_;  // SourceMask per field id
};

// Table parts, one per family (fields_syscall.cpp, fields_k8s.cpp).
std::span<const FieldInfo> syscall_fields();
std::span<const FieldInfo> k8s_audit_fields();

// Fields without an extractor in this build, with the sources they lack one for.
struct UnavailableField {
  std::string_view name;
  std::uint8_t sources;  // SourceMask
};
std::span<const UnavailableField> unavailable_fields();

}  // namespace pg::policy
