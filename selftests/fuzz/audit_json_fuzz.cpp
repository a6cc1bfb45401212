// libFuzzer target: an audit webhook or file body (user/audit/document.*):
// depth check, JSON parse, Event/EventList validation, timestamps
// (user/timestamp.*), and the error text a client would get back (which
// must always serialise).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "user/audit/document.h"
#include "user/timestamp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::user::audit;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = parse_json(text);
  if (!doc) {
    (void)Json{{"error", doc.error()}}.dump(-1, ' ', false, Json::error_handler_t::strict);
    return 0;
  }
  auto events = events_of(*doc);
  if (!events) {
    (void)Json{{"error", events.error()}}.dump(-1, ' ', false, Json::error_handler_t::strict);
    return 0;
  }
  for (const Json* e : *events) {
    (void)event_time_ns(*e, 0);
    (void)e->dump();
  }
  (void)pg::user::parse_rfc3339_ns(text.substr(0, 64));
  return 0;
}
