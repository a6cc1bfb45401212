// The condition tree: what the parser produces and, after macro, list and
// exception expansion plus type checking, what the compiler and
// the kernel lowering consume.
//
// Nodes are plain values (copyable), so macro expansion is a tree copy.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg::policy {

struct ConditionSource;  // source_text.h: which item/file a node came from

enum class Op {
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Contains,
  IContains,
  BContains,
  StartsWith,
  BStartsWith,
  EndsWith,
  Glob,
  IGlob,
  Regex,
  In,
  Intersects,
  PMatch,
  Exists,
};

enum class Transformer { ToLower, ToUpper, B64, Basename, Len };

// String comparator modifiers (Falco engine 0.62, libs 0.25): the operator
// is applied to each value of a list and the results are combined.
//   `fd.name startswith anyof (/etc, /root)`  at least one holds
//   `fd.name startswith allof (/etc, /etc/x)` every one holds
//   `fd.name startswith oneof (/etc, /root)`  exactly one holds
// An empty list, or a field without a value, makes the comparison false.
enum class Modifier { None, OneOf, AnyOf, AllOf };

std::string_view op_name(Op op);
std::optional<Op> op_from_name(std::string_view s);
bool op_takes_list(Op op);  // in, intersects, pmatch
// The operators a modifier may follow: =, !=, and the word string operators.
bool op_takes_modifier(Op op);
std::string_view modifier_name(Modifier m);
std::optional<Modifier> modifier_from_name(std::string_view s);
// "startswith oneof" -> {StartsWith, OneOf}; "in" -> {In, None}. nullopt
// for unknown words and for modifiers after an operator that takes none.
struct Comparator {
  Op op = Op::Eq;
  Modifier mod = Modifier::None;
};
std::optional<Comparator> comparator_from_name(std::string_view s);
std::string_view transformer_name(Transformer t);
std::optional<Transformer> transformer_from_name(std::string_view s);

// Multi-value transformers (Falco engine 0.59 and 0.60, libs 0.24): their
// value is computed from several arguments instead of read from one field.
//   join(sep, list)         the list's values joined by sep (a string)
//   concat(a, b, ...)       single strings, concatenated (a string)
//   getopt(list, optstring) argv parsed as getopt(3) does: options and their
//                           values (a list); getopt(...)[c]: the value of
//                           option c (the last one given), or <NA>
// Their arguments are fields, transformer calls, quoted strings, numbers and
// lists `(a, b, ...)` of those; `List` and `Literal` are such arguments.
enum class Call : unsigned char { None, Join, Concat, Getopt, List, Literal };
std::string_view call_name(Call c);
// Join, Concat or Getopt for their names, nullopt otherwise.
std::optional<Call> call_from_name(std::string_view s);

// A reference to a field: `proc.aname[2]`, `tolower(proc.name)`,
// `evt.arg.flags` (name "evt.arg", arg "flags"), or a multi-value
// transformer call (`call` set; `name` empty, `field_id` -1).
struct FieldRef {
  std::string name;                       // as registered (e.g. "evt.arg")
  std::optional<std::string> arg;         // the [argument] or .key; getopt's [c]
  std::vector<Transformer> transformers;  // outermost first
  int field_id = -1;                      // index in the field registry after checking
  std::size_t pos = 0;                    // offset of the reference in its source text
  Call call = Call::None;
  std::vector<FieldRef> args;  // Join/Concat/Getopt: the arguments; List: the items
  std::string literal;         // Literal: the unescaped text
  bool is_call() const { return call != Call::None; }
};

struct Value {
  std::string text;     // unescaped
  bool quoted = false;  // written in quotes (never a list/macro name)
  std::size_t pos = 0;
};

enum class NodeKind { And, Or, Not, Compare, Exists, Macro, Bool };
enum class RhsKind { None, Single, List, Field };

struct Node {
  NodeKind kind = NodeKind::Bool;
  std::vector<Node> children;  // And/Or: two or more; Not: one

  // Compare and Exists
  FieldRef field;
  Op op = Op::Exists;
  Modifier mod = Modifier::None;  // when set, `rhs` is List
  RhsKind rhs = RhsKind::None;
  std::vector<Value> values;  // Single: one; List: any number
  FieldRef rhs_field;         // Field: val(field)

  std::string macro;       // Macro: the name (before expansion)
  bool bool_value = true;  // Bool: constant (an empty exception set, ...)

  std::size_t pos = 0;                      // offset in origin->text
  const ConditionSource* origin = nullptr;  // never null after loading
};

Node make_and(std::vector<Node> children);
Node make_or(std::vector<Node> children);
Node make_not(Node child);

// Canonical, fully parenthesised rendering: `(a and b)`, `(a or b)`,
// `not x`, `field op value`, lists `(a, b)`, values quoted only when needed.
std::string to_string(const Node& node);
std::string to_string(const FieldRef& ref);
std::string quote_value(std::string_view v);

}  // namespace pg::policy
