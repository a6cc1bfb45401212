// The field registry (policy/fields*.cpp) must say exactly which fields
// this build extracts: a field it claims to extract has an extractor in
// user/engine/extract*.cpp, and a field it lists as unavailable
// (policy/fields_unavailable.cpp) has none. Otherwise a rule could use a
// field that is silently always <NA>.
#include <doctest/doctest.h>

#include <string>

#include "policy/fields.h"
#include "user/engine/extract.h"

using namespace pg;
namespace pp = pg::policy;

namespace {

bool has_extractor(std::string_view name, pp::EventSource s) {
  return s == pp::EventSource::Syscall ? user::engine::find_syscall_extractor(name) != nullptr
                                       : user::engine::find_audit_extractor(name) != nullptr;
}

}  // namespace

TEST_CASE("every registered field claims an extractor exactly when it has one") {
  const auto& reg = pp::FieldRegistry::instance();
  std::string claims_without, listed_with;
  int extracted = 0, unavailable = 0;
  for (int id = 0; id < int(reg.all().size()); ++id) {
    const auto& f = reg.at(id);
    for (auto s : {pp::EventSource::Syscall, pp::EventSource::K8sAudit}) {
      if (!f.in_source(s)) continue;
      const bool has = has_extractor(f.name, s);
      const bool claims = reg.extracted(id, s);
      std::string row = "  " + std::string(f.name) + " (" + std::string(pp::source_name(s)) + ")\n";
      if (claims && !has) claims_without += row;
      if (!claims && has) listed_with += row;
      (claims ? extracted : unavailable)++;
    }
  }
  INFO("claimed but without an extractor (add one, or list it in fields_unavailable.cpp):\n"
       << claims_without);
  INFO("listed as unavailable but extracted (remove it from fields_unavailable.cpp):\n"
       << listed_with);
  CHECK(claims_without.empty());
  CHECK(listed_with.empty());
  MESSAGE(extracted << " field/source pairs extracted, " << unavailable << " unavailable");
}

TEST_CASE("every unavailable-field entry names a registered field of that source") {
  const auto& reg = pp::FieldRegistry::instance();
  for (const auto& u : pp::unavailable_fields()) {
    CAPTURE(u.name);
    auto id = reg.find(u.name);
    REQUIRE(id);
    CHECK((reg.at(*id).sources & u.sources) == u.sources);
  }
}
