#include "policy/exceptions.h"

#include "policy/parser.h"

namespace pg::policy {
namespace {

class Builder {
 public:
  Builder(const std::string& rule, const ConditionSource* origin, const ListLookup& lists,
          Diagnostics& diags)
      : rule_(rule), origin_(origin), lists_(lists), diags_(diags) {}

  bool ok = true;

  void fail(const ExceptionSpec& e, std::string msg) {
    ok = false;
    diags_.add(Diagnostic{Code::ErrValidate,
                          ItemType::Rule,
                          rule_,
                          e.loc,
                          "exception '" + e.name + "': " + std::move(msg),
                          {},
                          0});
  }

  std::optional<Node> build(const std::vector<ExceptionSpec>& exceptions) {
    std::vector<Node> alternatives;
    for (const auto& e : exceptions) {
      if (auto n = one(e)) alternatives.push_back(std::move(*n));
    }
    if (alternatives.empty()) return std::nullopt;
    return make_or(std::move(alternatives));
  }

 private:
  Node leaf(const FieldRef& f, Comparator c) {
    Node n;
    n.kind = NodeKind::Compare;
    n.field = f;
    n.field.pos = 0;
    n.op = c.op;
    n.mod = c.mod;
    n.origin = origin_;
    return n;
  }

  // Values of a list comparison: YAML lists and names of lists expand.
  std::vector<Value> list_values(const std::vector<ExceptionValue>& vs) {
    std::vector<Value> out;
    for (const auto& v : vs)
      for (const auto& item : v.items) {
        const std::vector<std::string>* l = v.quoted ? nullptr : lists_(item);
        if (l)
          for (const auto& x : *l) out.push_back(Value{x, true, 0});
        else
          out.push_back(Value{item, true, 0});
      }
    return out;
  }

  // A comparison with a modifier takes a list, as `in` does: a scalar
  // value is a one-element list (or the name of a list), as Falco
  // parenthesises it.
  static bool takes_list(Comparator c) { return op_takes_list(c.op) || c.mod != Modifier::None; }

  std::optional<Node> compare(const ExceptionSpec& e, const FieldRef& f, Comparator c,
                              const ExceptionValue& v) {
    const Op op = c.op;
    Node n = leaf(f, c);
    if (takes_list(c)) {
      n.rhs = RhsKind::List;
      n.values = list_values({v});
    } else {
      if (v.is_list) {
        fail(e,
             "comparison '" + std::string(op_name(op)) + "' takes one value, but a list was given");
        return std::nullopt;
      }
      n.rhs = RhsKind::Single;
      n.values.push_back(Value{v.items.at(0), true, 0});
    }
    return n;
  }

  std::optional<Node> one(const ExceptionSpec& e) {
    if (e.fields.empty()) {
      fail(e, "no 'fields' given");
      return std::nullopt;
    }
    std::vector<FieldRef> fields;
    for (const auto& text : e.fields) {
      auto f = parse_field_ref(text);
      if (!f) {
        fail(e, "'" + text + "' is not a field reference: " + f.error().message);
        return std::nullopt;
      }
      fields.push_back(std::move(*f));
    }
    std::vector<Comparator> ops;
    if (e.fields_is_list) {
      if (e.comps_given && (!e.comps_is_list || e.comps.size() != e.fields.size())) {
        fail(e, "'comps' must be a list with one comparison per field (" +
                    std::to_string(e.fields.size()) + ")");
        return std::nullopt;
      }
      for (std::size_t i = 0; i < e.fields.size(); ++i) ops.push_back({Op::Eq, Modifier::None});
    } else {
      if (e.comps_given && e.comps_is_list) {
        fail(e, "with a single field, 'comps' must be a single comparison");
        return std::nullopt;
      }
      ops.push_back({Op::In, Modifier::None});
    }
    if (e.comps_given) {
      for (std::size_t i = 0; i < e.comps.size(); ++i) {
        auto c = comparator_from_name(e.comps[i]);
        if (!c || c->op == Op::Exists) {
          fail(e, "unknown comparison '" + e.comps[i] +
                      "' (use =, !=, in, pmatch, startswith, ..., or an operator with a "
                      "modifier such as 'startswith oneof')");
          return std::nullopt;
        }
        ops[i] = *c;
      }
    }
    if (e.values.empty()) return std::nullopt;  // nothing excepted yet
    if (!e.fields_is_list) {
      // Single-field form: all values in one list comparison.
      std::vector<ExceptionValue> flat;
      for (const auto& row : e.values) flat.push_back(row.at(0));
      if (takes_list(ops[0])) {
        Node n = leaf(fields[0], ops[0]);
        n.rhs = RhsKind::List;
        n.values = list_values(flat);
        return n;
      }
      std::vector<Node> alts;
      for (const auto& v : flat)
        if (auto n = compare(e, fields[0], ops[0], v)) alts.push_back(std::move(*n));
      if (alts.empty()) return std::nullopt;
      return make_or(std::move(alts));
    }
    std::vector<Node> alts;
    for (const auto& row : e.values) {
      if (row.size() != fields.size()) {
        fail(e, "a value tuple has " + std::to_string(row.size()) + " entries but there are " +
                    std::to_string(fields.size()) + " fields");
        return std::nullopt;
      }
      std::vector<Node> terms;
      for (std::size_t i = 0; i < row.size(); ++i) {
        auto n = compare(e, fields[i], ops[i], row[i]);
        if (!n) return std::nullopt;
        terms.push_back(std::move(*n));
      }
      alts.push_back(make_and(std::move(terms)));
    }
    return make_or(std::move(alts));
  }

  const std::string& rule_;
  const ConditionSource* origin_;
  const ListLookup& lists_;
  Diagnostics& diags_;
};

}  // namespace

std::optional<Node> build_exceptions(const std::vector<ExceptionSpec>& exceptions,
                                     const std::string& rule, const ConditionSource* origin,
                                     const ListLookup& lists, Diagnostics& diags, bool& ok) {
  Builder b(rule, origin, lists, diags);
  auto n = b.build(exceptions);
  ok = b.ok;
  return n;
}

}  // namespace pg::policy
