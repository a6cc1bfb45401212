// One audit document: an audit.k8s.io Event or EventList (v1 or v1beta1),
// validated before any of its events is evaluated, so a bad document
// changes nothing.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace pg::user::audit {

using Json = nlohmann::json;

// Deeper JSON than this is refused before parsing: real audit events nest
// a few dozen levels, and a bound keeps hostile input from exhausting the
// stack in code that walks the tree.
inline constexpr int kMaxJsonDepth = 256;

// Parse text into JSON without throwing; the error says where it failed.
std::expected<Json, std::string> parse_json(std::string_view text);

// The Event objects of a document: itself for an Event, its items for an
// EventList. Fails (naming the offending member) for anything else.
std::expected<std::vector<const Json*>, std::string> events_of(const Json& doc);

// The event's time in ns since the epoch: stageTimestamp, else
// requestReceivedTimestamp; `fallback_ns` when neither parses.
int64_t event_time_ns(const Json& event, int64_t fallback_ns);

int64_t now_ns();

// What is done with each event (the detector's audit entry point).
using EventSink = std::function<void(const Json& event, int64_t time_ns)>;

}  // namespace pg::user::audit
