#include "user/engine/extract_call.h"

#include <array>

namespace pg::user::engine {
namespace {

// Appends the argument's values as text; false when one has none (<NA>).
bool values_of(const BoundArg& a, const View& v, std::vector<std::string>& out) {
  switch (a.kind) {
    case BoundArg::Kind::Literal:
      out.push_back(a.literal);
      return true;
    case BoundArg::Kind::List:
      for (const auto& item : a.items)
        if (!values_of(item, v, out)) return false;
      return true;
    case BoundArg::Kind::Field: {
      std::string scratch;
      Value val = extract(a.field, v, scratch);
      switch (val.kind) {
        case Value::Kind::NA:
          return false;
        case Value::Kind::Str:
          out.emplace_back(val.str);
          return true;
        case Value::Kind::List:
          out.insert(out.end(), val.list->begin(), val.list->end());
          return true;
        case Value::Kind::Int:
        case Value::Kind::Bool:
          out.push_back(render_value(val));  // numbers join as text, as in libs
          return true;
      }
      return false;
    }
  }
  return false;
}

BoundArg bind_arg(const policy::FieldRef& ref, policy::EventSource source) {
  BoundArg a;
  if (ref.call == policy::Call::Literal) {
    a.kind = BoundArg::Kind::Literal;
    a.literal = ref.literal;
  } else if (ref.call == policy::Call::List) {
    a.kind = BoundArg::Kind::List;
    for (const auto& item : ref.args) a.items.push_back(bind_arg(item, source));
  } else {
    a.kind = BoundArg::Kind::Field;
    a.field = bind_field(ref, source);
  }
  return a;
}

std::string plain_name(const policy::FieldRef& ref) {
  if (ref.call == policy::Call::Literal) return ref.literal;
  if (!ref.is_call()) {
    std::string s = ref.name;
    if (ref.arg) s += "[" + *ref.arg + "]";
    return s;
  }
  return falco_call_name(ref);
}

}  // namespace

std::string falco_call_name(const policy::FieldRef& ref) {
  std::string s;
  if (ref.call == policy::Call::Literal || !ref.is_call()) {
    s = plain_name(ref);
  } else {
    s = std::string(policy::call_name(ref.call)) + "(";
    for (std::size_t i = 0; i < ref.args.size(); ++i) s += (i ? "," : "") + plain_name(ref.args[i]);
    s += ")";
    if (ref.arg) s += "[" + *ref.arg + "]";
  }
  for (auto it = ref.transformers.rbegin(); it != ref.transformers.rend(); ++it)
    s = std::string(policy::transformer_name(*it)) + "(" + s + ")";
  return s;
}

std::shared_ptr<BoundCall> bind_call(const policy::FieldRef& ref, policy::EventSource source) {
  auto c = std::make_shared<BoundCall>();
  c->kind = ref.call;
  for (const auto& a : ref.args) c->args.push_back(bind_arg(a, source));
  if (ref.arg && ref.arg->size() == 1) c->selector = (*ref.arg)[0];
  return c;
}

std::optional<std::vector<std::string>> getopt_scan(const std::vector<std::string>& argv,
                                                    std::string_view optstring,
                                                    std::optional<char> selector) {
  std::array<bool, 256> valid{}, takes_value{};
  std::size_t o = !optstring.empty() && optstring[0] == ':' ? 1 : 0;
  for (; o < optstring.size(); ++o) {
    auto ch = static_cast<unsigned char>(optstring[o]);
    if (ch == ':') continue;
    valid[ch] = true;
    if (o + 1 < optstring.size() && optstring[o + 1] == ':') {
      takes_value[ch] = true;
      ++o;
    }
  }
  std::vector<std::string> out;
  std::optional<std::string> selected;
  auto emit = [&](std::string_view name, std::optional<std::string_view> value) {
    if (selector) {
      selected = std::string(value.value_or(name));
      return;
    }
    out.emplace_back(name);
    if (value) out.emplace_back(*value);
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;                                          // end of options
    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') continue;  // long options: skipped
    if (arg.size() < 2 || arg[0] != '-') break;                      // the first operand ends them
    for (std::size_t k = 1; k < arg.size(); ++k) {
      auto ch = static_cast<unsigned char>(arg[k]);
      if (ch == ':' || !valid[ch]) {
        if (!selector) out.emplace_back("?");
        continue;
      }
      const bool match = !selector || ch == static_cast<unsigned char>(*selector);
      std::string_view name = arg.substr(k, 1);
      if (!takes_value[ch]) {
        if (match) emit(name, std::nullopt);
        continue;
      }
      // The value is the rest of this word (-tvalue) or the next word (-t value).
      std::optional<std::string_view> value;
      if (k + 1 < arg.size())
        value = arg.substr(k + 1);
      else if (i + 1 < argv.size())
        value = argv[++i];
      if (match) emit(value ? name : std::string_view(""), value);
      break;
    }
  }
  if (selector) {
    if (!selected) return std::nullopt;
    return std::vector<std::string>{*selected};
  }
  return out;
}

Value extract_call(BoundCall& c, const View& v) {
  std::vector<std::string> a, b;
  switch (c.kind) {
    case policy::Call::Join: {
      if (c.args.size() != 2 || !values_of(c.args[0], v, a) || a.empty() ||
          !values_of(c.args[1], v, b))
        return Value::na();
      c.text.clear();
      for (std::size_t i = 0; i < b.size(); ++i) {
        if (i) c.text += a.front();
        c.text += b[i];
      }
      return Value::of(c.text);
    }
    case policy::Call::Concat: {
      c.text.clear();
      for (const auto& arg : c.args) {
        a.clear();
        if (!values_of(arg, v, a) || a.empty()) return Value::na();
        c.text += a.front();
      }
      return Value::of(c.text);
    }
    case policy::Call::Getopt: {
      if (c.args.size() != 2 || !values_of(c.args[0], v, a) || !values_of(c.args[1], v, b) ||
          b.empty())
        return Value::na();
      auto r = getopt_scan(a, b.front(), c.selector);
      if (!r) return Value::na();
      c.list = std::move(*r);
      if (c.selector) return Value::of(c.list.front());
      return Value::of_list(&c.list);
    }
    case policy::Call::List:
    case policy::Call::Literal:
    case policy::Call::None:
      break;
  }
  return Value::na();
}

}  // namespace pg::user::engine
