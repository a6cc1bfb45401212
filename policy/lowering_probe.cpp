// The registry probe: which kernel fields a field lowers to, found by
// lowering the comparisons rules write on it (what `peregrine fields`
// prints, and what the registry's hint must agree with).
#include <set>

#include "policy/fields.h"
#include "policy/lowering.h"

namespace pg::policy {

std::vector<int> kernel_fields_of(std::string_view field) {
  const auto id = FieldRegistry::instance().find(field);
  if (!id) return {};
  const FieldInfo& info = FieldRegistry::instance().at(*id);
  // A value of the field's type, as rules write them.
  std::string value = info.type == FieldType::Path                                      ? "/etc/x"
                      : info.type == FieldType::Port                                    ? "22"
                      : info.type == FieldType::Bool                                    ? "true"
                      : info.type == FieldType::Int64 || info.type == FieldType::Uint64 ? "1000"
                                                                                        : "x";
  if (field == "evt.type" || field == "syscall.type") value = "openat";
  if (field == "container.id") value = "host";
  std::set<int> out;
  for (Op op : {Op::Eq, Op::StartsWith, Op::Glob, Op::Contains}) {
    // `contains` is lowered for one value only: fd.nameraw's "../".
    if (op == Op::Contains) value = "../";
    Rule r;
    r.condition.kind = NodeKind::Compare;
    r.condition.field.name = std::string(field);
    r.condition.field.field_id = *id;
    r.condition.op = op;
    r.condition.rhs = RhsKind::Single;
    r.condition.values = {Value{value, false, 0}};
    if (info.arg_required) {
      // An argument field: as the first path argument of a path operation.
      r.condition.field.arg = "path";
      r.event_types.all = false;
      r.event_types.names = {"mkdir"};
    }
    LoweringOptions o;
    o.uids_named = [](const std::vector<std::string>&) { return std::vector<uint32_t>{0}; };
    for (const auto& c : lower_rule(r, o).clauses)
      for (const auto& l : c.literals)
        if (l.field != PG_FF_IMAGE) out.insert(l.field);  // the image: FieldInfo::image
  }
  return {out.begin(), out.end()};
}

}  // namespace pg::policy
