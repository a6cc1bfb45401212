// Binding a field reference to its extractor, and extracting its value.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "policy/fields.h"
#include "user/engine/extract.h"
#include "user/engine/extract_call.h"
#include "user/engine/transform.h"

namespace pg::user::engine {
namespace {

Value not_available(const View&, const FieldArg&, std::string&) { return Value::na(); }

void parse_arg(const std::optional<std::string>& arg, FieldArg& out) {
  if (!arg) return;
  out.key = *arg;
  int idx = 0;
  auto [p, ec] = std::from_chars(arg->data(), arg->data() + arg->size(), idx);
  if (ec == std::errc{} && p == arg->data() + arg->size()) out.index = idx;
}

}  // namespace

BoundField bind_field(const policy::FieldRef& ref, policy::EventSource source) {
  BoundField b;
  if (ref.is_call()) {
    b.name = falco_call_name(ref);
    b.fn = not_available;
    b.call = bind_call(ref, source);
    b.type = ref.call == policy::Call::Getopt && !ref.arg ? policy::FieldType::StringList
                                                          : policy::FieldType::String;
    b.transformers = ref.transformers;
    return b;
  }
  // The name as Falco prints it in output_fields: "proc.aname[2]", and the
  // dotted form for named arguments ("evt.arg.flags").
  b.name = ref.name;
  if (ref.arg) {
    bool numeric = !ref.arg->empty() && std::all_of(ref.arg->begin(), ref.arg->end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    bool dotted = ref.field_id >= 0 && policy::FieldRegistry::instance().at(ref.field_id).dotted;
    b.name += (dotted && !numeric) ? "." + *ref.arg : "[" + *ref.arg + "]";
  }
  ExtractFn fn = source == policy::EventSource::Syscall ? find_syscall_extractor(ref.name)
                                                        : find_audit_extractor(ref.name);
  b.fn = fn ? fn : not_available;
  parse_arg(ref.arg, b.arg);
  if (ref.field_id >= 0) b.type = policy::FieldRegistry::instance().at(ref.field_id).type;
  b.transformers = ref.transformers;
  return b;
}

std::optional<BoundField> bind_field_name(std::string_view name, policy::EventSource source) {
  std::optional<std::string> dotted;
  std::string base(name), arg;
  bool bracket = false;
  if (auto lb = name.find('['); lb != std::string_view::npos && name.back() == ']') {
    base = std::string(name.substr(0, lb));
    arg = std::string(name.substr(lb + 1, name.size() - lb - 2));
    bracket = true;
  }
  auto id = policy::FieldRegistry::instance().resolve(base, dotted);
  if (!id) return std::nullopt;
  policy::FieldRef ref;
  ref.name = std::string(policy::FieldRegistry::instance().at(*id).name);
  ref.field_id = *id;
  if (bracket)
    ref.arg = arg;
  else
    ref.arg = dotted;
  return bind_field(ref, source);
}

Value extract(const BoundField& f, const View& v, std::string& scratch) {
  Value val = f.call ? extract_call(*f.call, v) : f.fn(v, f.arg, scratch);
  if (f.transformers.empty()) return val;
  return apply_transformers(f.transformers, val, scratch);
}

std::string render_value(const Value& v) {
  switch (v.kind) {
    case Value::Kind::NA:
      return "<NA>";
    case Value::Kind::Str:
      return std::string(v.str);
    case Value::Kind::Int:
      return std::to_string(v.num);
    case Value::Kind::Bool:
      return v.num ? "true" : "false";
    case Value::Kind::List: {
      std::string out = "(";
      for (size_t i = 0; i < v.list->size(); ++i) out += (i ? "," : "") + (*v.list)[i];
      return out + ")";
    }
  }
  return "<NA>";
}

}  // namespace pg::user::engine
