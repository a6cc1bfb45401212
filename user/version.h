#pragma once

namespace pg::user {
inline constexpr const char* kVersion = "0.1.0";
}
