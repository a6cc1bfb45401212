// The field registry: every field a condition or output may name, with its
// type, argument form, event source and a kernel-lowering hint.
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

// What the kernel half could judge for this field; None means
// "userspace only". Filled where obvious.
enum class KernelHint : std::uint8_t {
  None,
  EvtType,
  Comm,
  PComm,
  Pid,
  Uid,
  Gid,
  Path,
  Flags,
  Family,
  Port,
  Container,
};

struct FieldInfo {
  std::string_view name;
  FieldType type;
  ArgKind arg;
  bool arg_required;
  bool dotted;           // `name.key` is accepted as `name[key]`
  std::uint8_t sources;  // SourceMask
  KernelHint kernel;
  std::string_view desc;

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
