#include "user/output/alert.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace pg::user::output {
namespace {

struct Split {
  std::time_t secs;
  long nanos;
};

// Floor division so times before 1970 still get a non-negative fraction.
Split split_ns(std::int64_t ns) {
  std::int64_t s = ns / 1'000'000'000;
  std::int64_t r = ns % 1'000'000'000;
  if (r < 0) {
    r += 1'000'000'000;
    s -= 1;
  }
  return {static_cast<std::time_t>(s), static_cast<long>(r)};
}

nlohmann::ordered_json field_json(const FieldValue& v) {
  struct Visit {
    nlohmann::ordered_json operator()(std::monostate) const { return nullptr; }
    nlohmann::ordered_json operator()(const std::string& s) const { return s; }
    nlohmann::ordered_json operator()(std::int64_t i) const { return i; }
    nlohmann::ordered_json operator()(bool b) const { return b; }
  };
  return std::visit(Visit{}, v);
}

}  // namespace

std::string format_rfc3339_ns(std::int64_t time_ns) {
  const auto [secs, nanos] = split_ns(time_ns);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "1970-01-01T00:00:00.000000000Z";
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

std::string format_clock_ns(std::int64_t time_ns) {
  const auto [secs, nanos] = split_ns(time_ns);
  std::tm tm{};
  if (localtime_r(&secs, &tm) == nullptr) return "00:00:00.000000000";
  return fmt::format("{:02}:{:02}:{:02}.{:09}", tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

std::string to_text(const Alert& alert, const FormatOptions& opts) {
  const std::string when =
      opts.time_format_iso_8601 ? format_rfc3339_ns(alert.time_ns) : format_clock_ns(alert.time_ns);
  return fmt::format("{}: {} {}", when, priority_name(alert.priority), alert.output);
}

std::string to_json(const Alert& alert, const FormatOptions& opts) {
  // Top-level keys in the order Falco emits them (its document is a sorted
  // map); output_fields keep the template order, which readers find easier
  // and which no consumer depends on.
  nlohmann::ordered_json doc;
  doc["hostname"] = alert.hostname;
  if (opts.json_include_output_property) doc["output"] = to_text(alert, opts);
  auto fields = nlohmann::ordered_json::object();
  for (const auto& f : alert.output_fields) fields[f.name] = field_json(f.value);
  doc["output_fields"] = std::move(fields);
  doc["priority"] = std::string(priority_name(alert.priority));
  doc["rule"] = alert.rule;
  doc["source"] = alert.source;
  if (opts.json_include_tags_property) doc["tags"] = alert.tags;
  doc["time"] = format_rfc3339_ns(alert.time_ns);
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace pg::user::output
