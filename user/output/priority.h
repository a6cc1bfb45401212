// Alert priorities: the outputs use the rules' own type (policy/priority.h),
// so rules, configuration and outputs share one enum and one parser.
#pragma once

#include "policy/priority.h"

namespace pg::user::output {

using policy::kPriorityNames;
using policy::Priority;
using policy::priority_from_name;
using policy::priority_name;
using policy::priority_passes;

}  // namespace pg::user::output
