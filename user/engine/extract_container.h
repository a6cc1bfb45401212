// Extractors of container.* and k8s.pod.* / k8s.ns.* fields for syscall
// events: identity from the cgroup path, the rest from the runtime metadata
// cache (user/container/). Part of the extractor table of extract.cpp.
#pragma once

#include <string_view>

#include "user/engine/extract.h"

namespace pg::user::engine {

// The extractor for a container or pod field, or nullptr if it is not one
// this build can supply.
ExtractFn find_container_extractor(std::string_view name);

}  // namespace pg::user::engine
