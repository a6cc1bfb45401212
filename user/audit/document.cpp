#include "user/audit/document.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

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

int64_t parse_rfc3339_ns(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  auto num = [&](size_t pos, size_t len) -> int {
    if (pos + len > s.size()) return -1;
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return -1;
  struct tm tm {};
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
      se = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      se < 0 || se > 60)
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    int64_t scale = 100'000'000;
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return -1;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 3 >= s.size() || s[pos + 3] != ':') return -1;
    offset_s = int64_t(s[pos] == '+' ? 1 : -1) * (int64_t(oh) * 3600 + int64_t(om) * 60);
    pos += 6;
  } else {
    return -1;
  }
  if (pos != s.size()) return -1;
  time_t secs = timegm(&tm);
  return (int64_t(secs) - offset_s) * 1'000'000'000 + frac_ns;
}

int64_t event_time_ns(const Json& event, int64_t fallback_ns) {
  for (const char* key : {"stageTimestamp", "requestReceivedTimestamp"}) {
    auto it = event.find(key);
    if (it == event.end() || !it->is_string()) continue;
    int64_t t = parse_rfc3339_ns(it->get_ref<const std::string&>());
    if (t >= 0) return t;
  }
  return fallback_ns;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pg::user::audit
