// Lowering: the walk over a rule's condition in negation normal form (see
// policy/lowering.h; its parts are listed in policy/lowering_internal.h),
// and the kernel half's names and human-readable forms.
#include "policy/lowering.h"

#include <algorithm>
#include <array>

#include "policy/lowering_internal.h"
#include "policy/pathop_args.h"

namespace pg::policy {
namespace lowering_detail {

KernelForm kernel_form(const FieldRef& f) {
  if (f.is_call()) return KernelForm::None;
  const FieldRegistry& reg = FieldRegistry::instance();
  if (f.field_id >= 0) return reg.at(f.field_id).kernel;
  const auto id = reg.find(f.name);  // a reference built by hand, not checked
  return id ? reg.at(*id).kernel : KernelForm::None;
}

bool Lowering::is_first_path_arg(const FieldRef& f) const {
  return kernel_form(f) == KernelForm::EventArg && f.arg && !pathops.empty() &&
         std::all_of(pathops.begin(), pathops.end(),
                     [&](uint16_t k) { return pathop_arg(k, *f.arg) == PathOpArg::Path1; });
}

Dnf Lowering::unknown(const Node& n, bool negated) {
  ++unknowns;
  std::string t = (negated ? "not " : "") + to_string(n);
  if (std::find(residue.begin(), residue.end(), t) == residue.end()) residue.push_back(t);
  return dnf_true();
}

// A comparison with a modifier against the single comparisons c1..cn
// (each false when the field has no value, as the modified one is):
//   anyof = c1 or ... or cn, exactly, also for fields with several
//     values (proc.aname): "some value matches some ci" either way;
//   allof implies c1 and ... and cn (equal for single-valued fields);
//   oneof implies anyof.
// Negated, only anyof is exact (not c1 and ... and not cn); the negation
// of allof or oneof is not implied by anything simpler over fields with
// several values, so it is left to userspace. An empty list is never true.
Dnf Lowering::modified(const Node& n, bool negated) {
  if (n.values.empty()) return negated ? dnf_true() : Dnf{};
  if (negated && n.mod != Modifier::AnyOf) return unknown(n, negated);
  std::vector<Node> singles;
  for (const auto& v : n.values) {
    Node c = n;
    c.mod = Modifier::None;
    c.rhs = RhsKind::Single;
    c.values = {v};
    singles.push_back(std::move(c));
  }
  const bool as_or = n.mod != Modifier::AllOf;
  // not (a or b) = not a and not b; not (a and b) = not a or not b.
  if (as_or != negated) return disjoin(singles, negated);
  return conjoin(singles, negated);
}

namespace {

bool image_field(const FieldRef& f) {
  if (f.is_call()) return false;
  const FieldRegistry& reg = FieldRegistry::instance();
  const auto id = f.field_id >= 0 ? std::optional<int>(f.field_id) : reg.find(f.name);
  return id && reg.at(*id).image;
}

// A condition whose every field is fixed by the process's exec.
bool image_only(const Node& n) {
  switch (n.kind) {
    case NodeKind::And:
    case NodeKind::Or:
    case NodeKind::Not:
      return std::all_of(n.children.begin(), n.children.end(), image_only);
    case NodeKind::Compare:
      return image_field(n.field) && (n.rhs != RhsKind::Field || image_field(n.rhs_field));
    case NodeKind::Exists:
      return image_field(n.field);
    case NodeKind::Macro:
    case NodeKind::Bool:
      return false;
  }
  return false;
}

}  // namespace

// Only where the condition needs it (no "or" above it): as one operand of
// a disjunction it would only split clauses whose union passes about as
// much as before (`not (proc.name = x and proc.cmdline contains y)`).
Dnf Lowering::lower(const Node& n, bool negated) {
  if (in_image || in_disjunction > 0 || !image_only(n)) return lower_node(n, negated);
  return image(n, negated);
}

// A condition over image fields only: what the kernel can judge of it
// directly, and, when that leaves something to userspace, the condition
// itself as one PG_FF_IMAGE literal, which userspace judges at each exec.
Dnf Lowering::image(const Node& n, bool negated) {
  const std::size_t residue_before = residue.size(), unknowns_before = unknowns;
  const bool coarsened_before = coarsened;
  in_image = true;
  Dnf direct = lower_node(n, negated);
  in_image = false;
  const bool exact = unknowns == unknowns_before && coarsened == coarsened_before;
  if (exact || direct.empty()) return direct;
  residue.resize(residue_before);  // judged now, through the image
  KLiteral lit;
  lit.field = PG_FF_IMAGE;
  lit.image = negated ? make_not(n) : n;
  lit.text.push_back(to_string(*lit.image));
  std::vector<Dnf> parts{one({std::move(lit)})};
  if (!is_true(direct)) parts.push_back(std::move(direct));
  return dnf_and(std::move(parts), max_clauses, coarsened);
}

Dnf Lowering::lower_node(const Node& n, bool negated) {
  switch (n.kind) {
    case NodeKind::Bool:
      return (n.bool_value != negated) ? dnf_true() : Dnf{};
    case NodeKind::Not:
      return lower(n.children.at(0), !negated);
    case NodeKind::And:
      return negated ? disjoin(n.children, true) : conjoin(n.children, false);
    case NodeKind::Or:
      return negated ? conjoin(n.children, true) : disjoin(n.children, false);
    case NodeKind::Compare:
      if (n.mod != Modifier::None) return modified(n, negated);
      return compare(n, negated);
    case NodeKind::Exists:
    case NodeKind::Macro:
      return unknown(n, negated);
  }
  return dnf_true();
}

Dnf Lowering::conjoin(const std::vector<Node>& kids, bool negated) {
  std::vector<Dnf> parts;
  for (const auto& k : kids) {
    Dnf d = lower(k, negated);
    if (d.empty()) return {};  // false
    if (!is_true(d)) parts.push_back(std::move(d));
  }
  return dnf_and(std::move(parts), max_clauses, coarsened);
}

Dnf Lowering::disjoin(const std::vector<Node>& kids, bool negated) {
  Dnf acc;
  ++in_disjunction;
  for (const auto& k : kids) {
    Dnf d = lower(k, negated);
    if (is_true(d)) {
      --in_disjunction;
      return d;
    }
    for (auto& c : d) acc.push_back(std::move(c));
  }
  --in_disjunction;
  return dnf_or(std::move(acc), max_clauses, coarsened);
}

}  // namespace lowering_detail

namespace {

using lowering_detail::Lowering;

// Names of the filtered syscalls, in pg_fkind order (the catalogue's).
#define PG_FK_NAME_ROW(name, ...) #name,
constexpr std::array<std::string_view, PG_FK__COUNT> kKindNames{
    PG_OPEN_SYSCALLS(PG_FK_NAME_ROW) "connect",
    PG_PATHOP_SYSCALLS(PG_FK_NAME_ROW) PG_ARGS_SYSCALLS(PG_FK_NAME_ROW)};
#undef PG_FK_NAME_ROW

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::string_view filter_kind_name(uint32_t kind) {
  return kind < PG_FK__COUNT ? kKindNames[kind] : std::string_view{};
}

int filter_kind_of(std::string_view evt_type) {
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
    if (kKindNames[k] == evt_type) return int(k);
  return -1;
}

bool KLiteral::enumerated() const {
  return field == kKindLiteral || field == PG_FF_TOPLEVEL || field == PG_FF_CLASS ||
         field == PG_FF_RAW || field == PG_FF_FAMILY || field == PG_FF_CONTAINER ||
         field == PG_FF_MEMFD;
}

bool KernelHalf::sharper_than_type() const {
  if (clauses.empty()) return true;
  return std::all_of(clauses.begin(), clauses.end(), [](const KClause& c) {
    return std::any_of(c.literals.begin(), c.literals.end(),
                       [](const KLiteral& l) { return l.field != kKindLiteral; });
  });
}

KernelHalf lower_rule(const Rule& rule, const LoweringOptions& o) {
  Lowering l{o.max_clauses, o};
  if (rule.source == EventSource::Syscall && !rule.event_types.all) {
    for (const auto& t : rule.event_types.names) {
      const uint16_t k = pathop_kind_of(t);
      if (k == 0) {
        l.pathops.clear();
        break;
      }
      l.pathops.push_back(k);
    }
  }
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
    l.rule_kinds[k] = rule.event_types.all || std::binary_search(rule.event_types.names.begin(),
                                                                 rule.event_types.names.end(),
                                                                 std::string(filter_kind_name(k)));
  KernelHalf h;
  h.clauses = l.lower(rule.condition, false);
  h.coarsened = l.coarsened;
  h.residue = std::move(l.residue);
  return h;
}

std::string_view kernel_field_name(int field) {
  switch (field) {
    case PG_FF_CLASS:
      return "open-class";
    case PG_FF_RAW:
      return "raw-path-dotdot";
    case PG_FF_FAMILY:
      return "family";
    case PG_FF_COMM:
      return "comm";
    case PG_FF_PCOMM:
      return "parent-comm";
    case PG_FF_UID:
      return "uid";
    case PG_FF_PORT:
      return "port";
    case PG_FF_PATH:
      return "path";
    case PG_FF_SUFFIX:
      return "path-suffix";
    case PG_FF_CONTAINER:
      return "container";
    case PG_FF_ARG:
      return "first-path-arg";
    case PG_FF_EXE:
      return "exe";
    case PG_FF_ARGS:
      return "args";
    case PG_FF_MEMFD:
      return "exe-from-memfd";
    case PG_FF_TOPLEVEL:
      return "path-in-root";
    case PG_FF_IMAGE:
      return "image";
    case PG_FF_ARG_NEEDLE:
      return "first-path-arg-contains";
    case PG_FF_PATH_NEEDLE:
      return "path-contains";
    case kKindLiteral:
      return "syscall";
    default:
      return "?";
  }
}

std::string to_string(const KLiteral& lit) {
  std::string out(kernel_field_name(lit.field));
  if (lit.field == PG_FF_CONTAINER) {
    const bool host = lit.accepts[PG_CT_HOST], ctr = lit.accepts[PG_CT_CONTAINER];
    return out + " in {" +
           (host && ctr ? "host,container"
            : host      ? "host"
            : ctr       ? "container"
                        : "") +
           "} [" + join(lit.text, "; ") + "]";
  }
  if (lit.field == PG_FF_IMAGE) return out + " [" + join(lit.text, "; ") + "]";
  if (lit.field == kKindLiteral) {
    std::vector<std::string> vs;
    for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
      if (lit.accepts[k]) vs.push_back(std::string(filter_kind_name(k)));
    return out + " in {" + join(vs, ",") + "} [" + join(lit.text, "; ") + "]";
  }
  if (lit.enumerated()) {
    std::vector<std::string> vs;
    for (std::size_t v = 0; v < PG_ENUM_VALUES; ++v)
      if (lit.accepts[v]) vs.push_back(std::to_string(v));
    if (vs.size() > 12)
      return out + " in {" + std::to_string(vs.size()) + " values} [" + join(lit.text, "; ") + "]";
    return out + " in {" + join(vs, ",") + "} [" + join(lit.text, "; ") + "]";
  }
  out += lit.negated ? " not in (" : " in (";
  std::vector<std::string> items = lit.values;
  for (const auto& p : lit.prefixes) items.push_back(lit.field == PG_FF_SUFFIX ? "*" + p : p + "*");
  return out + join(items, ", ") + ")";
}

std::string to_string(const KClause& clause) {
  if (clause.literals.empty()) return "true";
  std::vector<std::string> parts;
  for (const auto& l : clause.literals) parts.push_back(to_string(l));
  return join(parts, " and ");
}

}  // namespace pg::policy
