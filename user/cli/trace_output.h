// Rendering events for `peregrine trace`: one JSON object per event keyed by
// the Falco field names the values will have in rules (evt.type, proc.name,
// fd.name, ...), or one readable line. Values that are unknown are JSON null
// (Falco prints them as <NA>).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "user/cgroup.h"
#include "user/event.h"
#include "user/process.h"

namespace pg::user {

nlohmann::ordered_json event_to_json(const Event& e, const ProcessTable& procs, uint64_t num,
                                     CgroupMap* cgroups = nullptr);
std::string event_to_text(const nlohmann::ordered_json& fields);

}  // namespace pg::user
