// Multi-value transformers at evaluation time: join(), concat() and
// getopt() (policy/ast.h describes them). A bound call owns the storage of
// its result; like every extraction it is used by one thread at a time (a
// rule's fields by the event thread of the rule's source).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/ast.h"
#include "user/engine/extract.h"

namespace pg::user::engine {

// One argument: a literal, a field (which may be a call itself), or a list
// of those.
struct BoundArg {
  enum class Kind : unsigned char { Literal, Field, List } kind = Kind::Literal;
  std::string literal;
  BoundField field;
  std::vector<BoundArg> items;
};

struct BoundCall {
  policy::Call kind = policy::Call::None;
  std::vector<BoundArg> args;
  std::optional<char> selector;   // getopt(...)[c]
  std::string text;               // the last join/concat result
  std::vector<std::string> list;  // the last getopt result
};

// `ref` must be a checked call (ref.is_call()).
std::shared_ptr<BoundCall> bind_call(const policy::FieldRef& ref, policy::EventSource source);
// The call's value (before outer transformers): a string for join and
// concat and for getopt with a selector, else a list; <NA> when an argument
// has no value, as in libs.
Value extract_call(BoundCall& c, const View& v);
// The reference as libs prints it in output_fields:
// `join(->,(proc.name,fd.name))`, `toupper(concat(proc.name,fd.name))`.
std::string falco_call_name(const policy::FieldRef& ref);

// getopt(3)'s scan of `argv` (no program name) under `optstring`, as libs'
// getopt transformer does it: options, each followed by its value when it
// takes one; '?' for an unknown option; an empty value for a missing one.
// With `selector`, only the last value (or name, for a flag) of that option.
std::optional<std::vector<std::string>> getopt_scan(const std::vector<std::string>& argv,
                                                    std::string_view optstring,
                                                    std::optional<char> selector);

}  // namespace pg::user::engine
