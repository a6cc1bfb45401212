#include "user/output/alert.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "user/io/output_file.h"

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

nlohmann::json field_json(const FieldValue& v) {
  struct Visit {
    nlohmann::json operator()(std::monostate) const { return nullptr; }
    nlohmann::json operator()(const std::string& s) const { return s; }
    nlohmann::json operator()(std::int64_t i) const { return i; }
    nlohmann::json operator()(bool b) const { return b; }
    nlohmann::json operator()(double d) const { return d; }
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
  // A control character in a field value (a newline in an argv) must not
  // start a forged line of its own.
  std::string line = fmt::format("{}: {} {}", when, priority_name(alert.priority),
                                 io::escape_controls(alert.output));
  // Falco prints an internal alert's fields after its message:
  // "… Falco metrics snapshot (falco.version=0.44.0 …)".
  if (alert.internal() && !alert.output_fields.empty()) {
    line += " (";
    for (size_t i = 0; i < alert.output_fields.size(); ++i) {
      const auto& f = alert.output_fields[i];
      line += (i ? " " : "") + f.name + "=";
      line += field_json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    line += ")";
  }
  return line;
}

std::string to_json(const Alert& alert, const FormatOptions& opts) {
  // nlohmann::json keeps object keys sorted, exactly as Falco's document.
  nlohmann::json doc;
  doc["hostname"] = alert.hostname;
  if (alert.internal()) {
    // Falco's internal document (falco_outputs::handle_msg): the bare
    // message, every field, no tags, regardless of the json_include_* keys.
    doc["output"] = alert.output;
    auto fields = nlohmann::json::object();
    for (const auto& f : alert.output_fields) fields[f.name] = field_json(f.value);
    doc["output_fields"] = std::move(fields);
    doc["priority"] = std::string(priority_name(alert.priority));
    doc["rule"] = alert.rule;
    doc["source"] = alert.source;
    doc["time"] = format_rfc3339_ns(alert.time_ns);
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (opts.json_include_output_property) doc["output"] = to_text(alert, opts);
  if (opts.json_include_message_property) doc["message"] = alert.output;
  if (opts.json_include_output_fields_property) {
    auto fields = nlohmann::json::object();
    for (const auto& f : alert.output_fields) fields[f.name] = field_json(f.value);
    // Falco merges the prefix's fields last, so its time wins over a
    // `%evt.time` of the rule's own output.
    if (opts.time_format_iso_8601)
      fields["evt.time.iso8601"] = format_rfc3339_ns(alert.time_ns);
    else
      fields["evt.time"] = alert.time_ns;
    doc["output_fields"] = std::move(fields);
  }
  doc["priority"] = std::string(priority_name(alert.priority));
  doc["rule"] = alert.rule;
  doc["source"] = alert.source;
  if (opts.json_include_tags_property) {
    std::set<std::string> tags(alert.tags.begin(), alert.tags.end());
    doc["tags"] = tags;
  }
  doc["time"] = format_rfc3339_ns(alert.time_ns);
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string metrics_file_line(const Alert& snapshot, std::uint64_t sample) {
  nlohmann::json doc;
  auto fields = nlohmann::json::object();
  for (const auto& f : snapshot.output_fields) fields[f.name] = field_json(f.value);
  doc["output_fields"] = std::move(fields);
  doc["sample"] = sample;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pg::user::output
