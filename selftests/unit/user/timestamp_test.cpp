#include "user/timestamp.h"

#include <doctest/doctest.h>

#include <limits>

using pg::user::parse_rfc3339_ns;
using pg::user::seconds_to_ns;

TEST_CASE("timestamps: RFC 3339 with fractions and offsets") {
  CHECK(parse_rfc3339_ns("1970-01-01T00:00:01Z") == 1'000'000'000);
  CHECK(parse_rfc3339_ns("2026-11-28T10:00:00.123456Z") == 1'795'860'000'123'456'000);
  CHECK(parse_rfc3339_ns("2026-11-28T12:00:00.5+02:00") == 1'795'860'000'500'000'000);
  CHECK(parse_rfc3339_ns("2026-11-28T08:00:00.5-02:00") == 1'795'860'000'500'000'000);
  // Go writes nine digits; more are read and ignored.
  CHECK(parse_rfc3339_ns("2026-11-28T12:02:25.5643079471Z") == 1'795'867'345'564'307'947);
  // Go's zero time, which Docker writes for "not set", is before the epoch.
  CHECK(parse_rfc3339_ns("0001-01-01T00:00:00Z") == std::nullopt);
}

TEST_CASE("timestamps: what is not an RFC 3339 time is refused") {
  for (const char* bad : {"2026-11-28 10:00:00Z", "yesterday", "2026-11-28T10:00:00",
                          "2026-11-28T10:00:00.Z", "2026-13-28T10:00:00Z",
                          "2026-11-28T10:00:00+0200", "2026-11-28T10:00:00Zjunk", ""})
    CHECK_MESSAGE(parse_rfc3339_ns(bad) == std::nullopt, bad);
}

TEST_CASE("timestamps: a time int64 ns cannot hold is refused, not wrapped") {
  // The audit_json fuzzer's find: year 5493 overflowed a signed multiply.
  CHECK(parse_rfc3339_ns("5493-11-28T10:00:00Z") == std::nullopt);
  CHECK(parse_rfc3339_ns("9999-12-31T23:59:60.999999999-23:59") == std::nullopt);
  CHECK(parse_rfc3339_ns("2262-04-11T23:47:16.854775807Z") == std::numeric_limits<int64_t>::max());
  CHECK(parse_rfc3339_ns("2262-04-11T23:47:16.854775808Z") == std::nullopt);
  CHECK(seconds_to_ns(1'796'313'565) == 1'796'313'565'000'000'000);
  CHECK(seconds_to_ns(std::numeric_limits<int64_t>::max() / 1000) == std::nullopt);
}
