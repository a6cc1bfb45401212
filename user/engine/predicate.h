// Compiling a checked condition tree (policy::Node) into an evaluator.
//
// Everything that can be decided at load time is: fields are bound to
// extractors, constants parsed into the field's type, `in` lists become hash
// sets, regexes are compiled with RE2 (linear time), constant subtrees fold.
// As in Falco, a comparison whose field has no value (<NA>) is false,
// whatever the operator.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "policy/ast.h"
#include "user/engine/view.h"

namespace pg::user::engine {

class Predicate {
 public:
  virtual ~Predicate() = default;
  virtual bool eval(const View& v) const = 0;
  // Constant-folded value, when the predicate does not depend on the event.
  virtual std::optional<bool> constant() const { return std::nullopt; }
};

// Fields are bound for `source`; the predicate may only be evaluated
// against views of that source.
std::expected<std::unique_ptr<Predicate>, std::string> compile_predicate(
    const policy::Node& node, policy::EventSource source = policy::EventSource::Syscall);

}  // namespace pg::user::engine
