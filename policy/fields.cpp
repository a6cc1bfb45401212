#include "policy/fields.h"

#include <algorithm>
#include <array>

namespace pg::policy {

std::string_view kernel_form_name(KernelForm k) {
  switch (k) {
    case KernelForm::None:
      return "none";
    case KernelForm::EventType:
      return "event-type";
    case KernelForm::OpenIsRead:
      return "open-is-read";
    case KernelForm::OpenIsWrite:
      return "open-is-write";
    case KernelForm::OpenIsExec:
      return "open-is-exec";
    case KernelForm::OpenIsCreate:
      return "open-is-create";
    case KernelForm::Failed:
      return "failed";
    case KernelForm::Result:
      return "result";
    case KernelForm::RawResult:
      return "raw-result";
    case KernelForm::FdNum:
      return "fd-num";
    case KernelForm::FdType:
      return "fd-type";
    case KernelForm::FdTypeChar:
      return "fd-type-char";
    case KernelForm::EventArg:
      return "event-arg";
    case KernelForm::Container:
      return "container";
    case KernelForm::ExeFromMemfd:
      return "exe-from-memfd";
    case KernelForm::RawDotDot:
      return "raw-dot-dot";
    case KernelForm::Comm:
      return "comm";
    case KernelForm::ParentComm:
      return "parent-comm";
    case KernelForm::Uid:
      return "uid";
    case KernelForm::UserName:
      return "user-name";
    case KernelForm::Port:
      return "port";
    case KernelForm::FdName:
      return "fd-name";
    case KernelForm::FdDirectory:
      return "fd-directory";
    case KernelForm::FdFilename:
      return "fd-filename";
    case KernelForm::Exe:
      return "exe";
    case KernelForm::Args:
      return "args";
  }
  return "?";
}

std::string_view field_type_name(FieldType t) {
  switch (t) {
    case FieldType::String:
      return "string";
    case FieldType::Path:
      return "path";
    case FieldType::Int64:
      return "int64";
    case FieldType::Uint64:
      return "uint64";
    case FieldType::Bool:
      return "bool";
    case FieldType::IpAddr:
      return "ipaddr";
    case FieldType::IpNet:
      return "ipnet";
    case FieldType::Port:
      return "port";
    case FieldType::RelTime:
      return "reltime";
    case FieldType::AbsTime:
      return "abstime";
    case FieldType::Bytes:
      return "bytes";
    case FieldType::StringList:
      return "list";
  }
  return "?";
}

std::string_view source_name(EventSource s) {
  return s == EventSource::Syscall ? "syscall" : "k8s_audit";
}

std::optional<EventSource> source_from_name(std::string_view s) {
  if (s == "syscall") return EventSource::Syscall;
  if (s == "k8s_audit") return EventSource::K8sAudit;
  return std::nullopt;
}

const FieldRegistry& FieldRegistry::instance() {
  static const FieldRegistry r;
  return r;
}

FieldRegistry::FieldRegistry() {
  for (const auto& f : syscall_fields()) fields_.push_back(f);
  for (const auto& f : k8s_audit_fields()) fields_.push_back(f);
  unavailable_.assign(fields_.size(), 0);
  for (const auto& u : unavailable_fields())
    if (auto id = find(u.name)) unavailable_[static_cast<std::size_t>(*id)] |= u.sources;
}

bool FieldRegistry::extracted(int id, EventSource s) const {
  const auto& f = fields_[static_cast<std::size_t>(id)];
  if (!f.in_source(s)) return false;
  const std::uint8_t bit = s == EventSource::Syscall ? kSrcSyscall : kSrcK8sAudit;
  return !(unavailable_[static_cast<std::size_t>(id)] & bit);
}

std::optional<int> FieldRegistry::find(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name == name) return static_cast<int>(i);
  return std::nullopt;
}

std::optional<int> FieldRegistry::resolve(std::string_view name,
                                          std::optional<std::string>& dotted_arg) const {
  if (auto id = find(name)) return id;
  // `evt.arg.flags`: the longest registered prefix that accepts a dotted key.
  for (auto dot = name.rfind('.'); dot != std::string_view::npos && dot > 0;
       dot = name.rfind('.', dot - 1)) {
    if (auto id = find(name.substr(0, dot)); id && fields_[static_cast<std::size_t>(*id)].dotted) {
      dotted_arg = std::string(name.substr(dot + 1));
      return id;
    }
  }
  return std::nullopt;
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string FieldRegistry::suggest(std::string_view name) const {
  std::size_t best = 4;
  std::string_view out;
  for (const auto& f : fields_) {
    auto d = edit_distance(name, f.name);
    if (d < best) {
      best = d;
      out = f.name;
    }
  }
  return std::string(out);
}

}  // namespace pg::policy
