// Times written as text by Kubernetes, Docker and containerd.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pg::user {

// An RFC 3339 time ("2024-05-01T10:00:00.123456Z", "...+02:00", up to nine
// fraction digits counted, more ignored) in ns since the epoch. Nothing for
// text that is not one, or a time outside what int64 ns can hold (before
// 1677 or after 2262).
std::optional<int64_t> parse_rfc3339_ns(std::string_view s);

// Whole seconds since the epoch as ns; nothing when it does not fit.
std::optional<int64_t> seconds_to_ns(int64_t seconds);

}  // namespace pg::user
