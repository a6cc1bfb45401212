// Syscall fields derived from what other extractors read (time renderings,
// argument counts, container-qualified descriptor names). Part of the
// extractor table of extract.cpp.
#pragma once

#include <string_view>

#include "user/engine/extract.h"

namespace pg::user::engine {

// The extractor for one of these fields, or nullptr if it is not one.
ExtractFn find_misc_extractor(std::string_view name);
// The time renderings alone (evt.time.s, evt.datetime, evt.datetime.s),
// which work on any source's view (the audit table uses them too).
ExtractFn find_time_extractor(std::string_view name);

}  // namespace pg::user::engine
