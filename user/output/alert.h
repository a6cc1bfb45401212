// One alert as the engine hands it to the outputs (already rendered), and its
// two wire forms: Falco's JSON document and Falco's one-line text form.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "user/output/priority.h"

namespace pg::user::output {

// A field value as it appears in `output_fields`: <NA> is null, numeric
// fields are JSON numbers, everything else a string.
using FieldValue = std::variant<std::monostate, std::string, std::int64_t, bool, double>;

struct OutputField {
  std::string name;  // "proc.name", "fd.name", …
  FieldValue value;
};

struct Alert {
  std::int64_t time_ns = 0;  // event time, nanoseconds since the Unix epoch
  std::string rule;
  Priority priority = Priority::Debug;
  std::string source = "syscall";  // "syscall" or "k8s_audit"
  std::string hostname;
  std::string output;                      // the rule's output with field values filled in
  std::vector<OutputField> output_fields;  // in template order
  std::vector<std::string> tags;
  // The process that raised it (tgid; 0 for audit events): shedding under a
  // flood keeps the first alert of each (rule, process) pair.
  std::uint32_t origin_pid = 0;
  // An internal alert (drops, metrics snapshot): like Falco's, its fields are
  // the whole content, so they are printed after the text and no event time
  // is added to them.
  bool internal() const { return source == "internal"; }
};

struct FormatOptions {
  // Text prefix time: false → local "HH:MM:SS.nnnnnnnnn" (what Falco prints
  // by default), true → RFC 3339 UTC. The JSON `time` is always RFC 3339 UTC.
  bool time_format_iso_8601 = false;
  bool json_include_output_property = true;
  bool json_include_tags_property = true;
  bool json_include_message_property = false;       // `message`: the output without its prefix
  bool json_include_output_fields_property = true;  // `output_fields`
};

// "2026-11-28T03:04:05.123456789Z" (UTC, always nine fractional digits).
std::string format_rfc3339_ns(std::int64_t time_ns);

// "03:04:05.123456789" in the local time zone.
std::string format_clock_ns(std::int64_t time_ns);

// Falco's text line without a trailing newline:
// "03:04:05.123456789: Warning <output>". JSON `output` carries the same line.
std::string to_text(const Alert& alert, const FormatOptions& opts = {});

// Falco's JSON alert on one line, no trailing newline, with Falco's keys
// and types: top-level keys and output_fields sorted by name (Falco's
// document is a sorted map), tags sorted and unique (a std::set in Falco),
// and the prefix's time in output_fields — `evt.time` as integer
// nanoseconds, or `evt.time.iso8601` as text under time_format_iso_8601 —
// so output_fields is never empty. Invalid UTF-8 in any value (paths and
// command lines are bytes) is replaced, never thrown on.
std::string to_json(const Alert& alert, const FormatOptions& opts = {});

// Falco's metrics.output_file line: {"output_fields": {...}, "sample": N}.
std::string metrics_file_line(const Alert& snapshot, std::uint64_t sample);

}  // namespace pg::user::output
