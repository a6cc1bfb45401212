#include "user/audit/document.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "user/timestamp.h"

namespace pg::user::audit {

namespace {

// Nesting depth of the JSON text, counting brackets outside strings.
int max_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool known_api_version(const Json& v) {
  return v.is_string() && (v == "audit.k8s.io/v1" || v == "audit.k8s.io/v1beta1");
}

}  // namespace

std::expected<Json, std::string> parse_json(std::string_view text) {
  if (max_depth(text) > kMaxJsonDepth)
    return std::unexpected(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again with exceptions for the position; only on the error path.
    try {
      [[maybe_unused]] Json again = Json::parse(text);
    } catch (const Json::parse_error& e) {
      std::string what = e.what();
      if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
      // "; last read: '...'" quotes the client's bytes (maybe not UTF-8,
      // maybe a terminal escape): the position is enough.
      if (auto p = what.find("; last read:"); p != std::string::npos) what.resize(p);
      return std::unexpected("malformed JSON: " + what);
    } catch (...) {
    }
    return std::unexpected("malformed JSON");
  }
  return doc;
}

std::expected<std::vector<const Json*>, std::string> events_of(const Json& doc) {
  if (!doc.is_object())
    return std::unexpected("not a JSON object (expected an audit Event or EventList)");
  auto api = doc.find("apiVersion");
  auto kind = doc.find("kind");
  if (api == doc.end() || !known_api_version(*api))
    return std::unexpected(
        fmt::format("apiVersion {} is not audit.k8s.io/v1 or audit.k8s.io/v1beta1",
                    api == doc.end() ? "(missing)" : api->dump()));
  if (kind != doc.end() && *kind == "Event") return std::vector<const Json*>{&doc};
  if (kind == doc.end() || *kind != "EventList")
    return std::unexpected(fmt::format("kind {} is not Event or EventList",
                                       kind == doc.end() ? "(missing)" : kind->dump()));
  auto items = doc.find("items");
  if (items == doc.end() || items->is_null()) return std::vector<const Json*>{};
  if (!items->is_array()) return std::unexpected("EventList.items is not an array");
  std::vector<const Json*> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& e = (*items)[i];
    if (!e.is_object())
      return std::unexpected(fmt::format("EventList.items[{}] is not an object", i));
    out.push_back(&e);
  }
  return out;
}

int64_t event_time_ns(const Json& event, int64_t fallback_ns) {
  for (const char* key : {"stageTimestamp", "requestReceivedTimestamp"}) {
    auto it = event.find(key);
    if (it == event.end() || !it->is_string()) continue;
    if (auto t = parse_rfc3339_ns(it->get_ref<const std::string&>()); t && *t >= 0) return *t;
  }
  return fallback_ns;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pg::user::audit
