// The field registry's kernel hint against the lowering: a field is hinted
// as judged in the kernel exactly when some comparison on it lowers to a
// kernel literal. `peregrine fields` prints what the lowering does, so the
// registry cannot claim what the kernel does not judge, or hide what it does.
#include <doctest/doctest.h>

#include <string>

#include "policy/fields.h"
#include "policy/lowering.h"

using namespace pg::policy;

TEST_CASE("field registry: the kernel hint says what the lowering does") {
  std::string wrong;
  size_t lowered_fields = 0;
  for (const FieldInfo& f : FieldRegistry::instance().all()) {
    if (!f.in_source(EventSource::Syscall)) continue;
    const bool lowered = !kernel_fields_of(f.name).empty();
    const bool hinted = f.kernel != KernelHint::None;
    lowered_fields += lowered;
    if (lowered != hinted)
      wrong += "\n  " + std::string(f.name) +
               (lowered ? ": lowered, hinted none" : ": hinted, not lowered");
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
