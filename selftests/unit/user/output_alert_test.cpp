#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/alert.h"

using namespace pg::user::output;
using pg::user::output::testing::sample_alert;

TEST_CASE("alert JSON has exactly Falco's keys with typed output_fields") {
  const auto doc = nlohmann::json::parse(to_json(sample_alert()));
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"hostname", "output", "output_fields", "priority", "rule",
                                         "source", "tags", "time"});
  CHECK(doc["time"] == "2026-11-28T03:04:05.123456789Z");
  CHECK(doc["rule"] == "Write below etc");
  CHECK(doc["priority"] == "Warning");
  CHECK(doc["source"] == "syscall");
  CHECK(doc["hostname"] == "host1");
  CHECK(doc["tags"] == nlohmann::json::array({"filesystem", "mitre_persistence"}));
  const auto& f = doc["output_fields"];
  CHECK(f["proc.name"] == "cat");
  CHECK(f["proc.pid"].is_number_integer());
  CHECK(f["proc.pid"] == 4242);
  CHECK(f["fd.is_dir"] == false);
  CHECK(f["container.id"].is_null());
}

TEST_CASE(
    "alert JSON output property is the text line and the optional properties can be left out") {
  const auto a = sample_alert();
  const auto doc = nlohmann::json::parse(to_json(a));
  CHECK(doc["output"] == to_text(a));
  FormatOptions opts;
  opts.json_include_output_property = false;
  opts.json_include_tags_property = false;
  const auto slim = nlohmann::json::parse(to_json(a, opts));
  CHECK_FALSE(slim.contains("output"));
  CHECK_FALSE(slim.contains("tags"));
  CHECK(slim.contains("output_fields"));
}

TEST_CASE("alert JSON is one line even when the output has newlines and invalid UTF-8") {
  auto a = sample_alert();
  a.output = "line1\nline2 \xff\xfe bad";
  a.output_fields.push_back({"fd.name", std::string("/tmp/\xc3")});
  std::string json;
  CHECK_NOTHROW(json = to_json(a));
  CHECK(json.find('\n') == std::string::npos);
  CHECK(nlohmann::json::accept(json));
}

TEST_CASE("RFC 3339 time is UTC with exactly nine fractional digits") {
  CHECK(format_rfc3339_ns(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(format_rfc3339_ns(5) == "1970-01-01T00:00:00.000000005Z");
  CHECK(format_rfc3339_ns(1'795'835'045'000'000'000) == "2026-11-28T03:04:05.000000000Z");
  CHECK(format_rfc3339_ns(-1) == "1969-12-31T23:59:59.999999999Z");
}

TEST_CASE("text form is 'HH:MM:SS.nnnnnnnnn: Priority output' in local time") {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(to_text(sample_alert()) == "03:04:05.123456789: Warning File below /etc opened");
  ::setenv("TZ", "Asia/Kolkata", 1);  // +05:30, no DST
  ::tzset();
  CHECK(to_text(sample_alert()) == "08:34:05.123456789: Warning File below /etc opened");
  FormatOptions iso;
  iso.time_format_iso_8601 = true;
  CHECK(to_text(sample_alert(), iso) ==
        "2026-11-28T03:04:05.123456789Z: Warning File below /etc opened");
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST_CASE("priority names round-trip, accept Falco aliases and order by severity") {
  for (int i = 0; i < 8; ++i) {
    const auto p = static_cast<Priority>(i);
    CHECK(priority_from_name(priority_name(p)) == p);
  }
  CHECK(priority_from_name("WARNING") == Priority::Warning);
  CHECK(priority_from_name("info") == Priority::Informational);
  CHECK(priority_from_name("Crit") == Priority::Critical);
  CHECK_FALSE(priority_from_name("severe").has_value());
  CHECK(priority_passes(Priority::Critical, Priority::Warning));
  CHECK(priority_passes(Priority::Warning, Priority::Warning));
  CHECK_FALSE(priority_passes(Priority::Notice, Priority::Warning));
}
