// The field registry's kernel form against the lowering. Lowering dispatches
// on the form (policy/fields.h KernelForm), so the registry decides what the
// kernel judges; `peregrine fields` prints what the lowering then does.
// Two checks: a field has a form exactly when some comparison on it lowers
// to a kernel literal (no form that lowers nothing, no field lowered
// without one), and the set of fields with a form is the reviewed list
// below, so a field joins the kernel half only deliberately (with its
// soundness argument in lowering and a differential case).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "policy/fields.h"
#include "policy/lowering.h"

using namespace pg::policy;

TEST_CASE("field registry: the kernel form says what the lowering does") {
  std::string wrong;
  size_t lowered_fields = 0;
  for (const FieldInfo& f : FieldRegistry::instance().all()) {
    if (!f.in_source(EventSource::Syscall)) continue;
    const bool lowered = !kernel_fields_of(f.name).empty();
    const bool hinted = f.kernel != KernelForm::None;
    lowered_fields += lowered;
    if (lowered != hinted)
      wrong += "\n  " + std::string(f.name) +
               (lowered ? ": lowered, form none"
                        : ": form " + std::string(kernel_form_name(f.kernel)) + ", not lowered");
  }
  MESSAGE(lowered_fields << " syscall fields are judged in the kernel");
  CHECK_MESSAGE(wrong.empty(), "registry and lowering disagree:" << wrong);
  // A few by name, so the probe itself cannot silently judge nothing.
  CHECK(!kernel_fields_of("fd.name").empty());
  CHECK(!kernel_fields_of("proc.exe").empty());
  CHECK(!kernel_fields_of("user.name").empty());
  CHECK(kernel_fields_of("proc.pid").empty());
  CHECK(kernel_fields_of("proc.cmdline").empty());
}

TEST_CASE("field registry: the fields the kernel judges, and how, are the reviewed ones") {
  const std::map<std::string, KernelForm> reviewed{
      {"evt.type", KernelForm::EventType},
      {"syscall.type", KernelForm::EventType},
      {"evt.is_open_read", KernelForm::OpenIsRead},
      {"evt.is_open_write", KernelForm::OpenIsWrite},
      {"evt.is_open_exec", KernelForm::OpenIsExec},
      {"evt.is_open_create", KernelForm::OpenIsCreate},
      {"evt.failed", KernelForm::Failed},
      {"evt.res", KernelForm::Result},
      {"evt.rawres", KernelForm::RawResult},
      {"fd.num", KernelForm::FdNum},
      {"fd.type", KernelForm::FdType},
      {"fd.typechar", KernelForm::FdTypeChar},
      {"evt.arg", KernelForm::EventArg},
      {"container.id", KernelForm::Container},
      {"proc.is_exe_from_memfd", KernelForm::ExeFromMemfd},
      {"fd.nameraw", KernelForm::RawDotDot},
      {"proc.name", KernelForm::Comm},
      {"proc.pname", KernelForm::ParentComm},
      {"user.uid", KernelForm::Uid},
      {"user.name", KernelForm::UserName},
      {"fd.sport", KernelForm::Port},
      {"fd.rport", KernelForm::Port},
      {"fd.name", KernelForm::FdName},
      {"fd.directory", KernelForm::FdDirectory},
      {"fd.filename", KernelForm::FdFilename},
      {"proc.exe", KernelForm::Exe},
      {"proc.args", KernelForm::Args},
  };
  std::map<std::string, KernelForm> registry;
  for (const FieldInfo& f : FieldRegistry::instance().all())
    if (f.kernel != KernelForm::None) registry[std::string(f.name)] = f.kernel;
  std::string diff;
  for (const auto& [name, form] : registry)
    if (!reviewed.contains(name) || reviewed.at(name) != form)
      diff += "\n  registry: " + name + " " + std::string(kernel_form_name(form));
  for (const auto& [name, form] : reviewed)
    if (!registry.contains(name) || registry.at(name) != form)
      diff += "\n  reviewed: " + name + " " + std::string(kernel_form_name(form));
  CHECK_MESSAGE(diff.empty(), "kernel forms differ from the reviewed list:" << diff);
}

TEST_CASE("field registry: lowering follows the field's kernel form, not its name") {
  // A comparison on proc.pid is userspace only; the same comparison through
  // the registry id of proc.name (whatever the reference is called) lowers
  // to the comm set: the form, not the name, chooses the kernel fact.
  const auto& reg = FieldRegistry::instance();
  Rule r;
  r.condition.kind = NodeKind::Compare;
  r.condition.field.name = "proc.pid";
  r.condition.field.field_id = *reg.find("proc.pid");
  r.condition.op = Op::Eq;
  r.condition.rhs = RhsKind::Single;
  r.condition.values = {Value{"sshd", false, 0}};
  KernelHalf h = lower_rule(r);
  CHECK(h.residue.size() == 1);
  r.condition.field.field_id = *reg.find("proc.name");
  h = lower_rule(r);
  REQUIRE(h.clauses.size() == 1);
  REQUIRE(h.clauses[0].literals.size() == 1);
  CHECK(h.clauses[0].literals[0].field == PG_FF_COMM);
  CHECK(h.residue.empty());
}
