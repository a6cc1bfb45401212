// Extractors of fd.* and fs.path.* fields for syscall events. Part of the
// extractor table of extract.cpp.
#pragma once

#include <string_view>

#include "user/engine/extract.h"

namespace pg::user::engine {

// The extractor for a descriptor field, or nullptr if it is not one.
ExtractFn find_fd_extractor(std::string_view name);

}  // namespace pg::user::engine
