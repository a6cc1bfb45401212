// Records laid out the way the kernel side writes them, for decoder tests.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "kern/api/records.h"

namespace pg::user::test {

// Builds a record the way the kernel side lays it out: fixed part, then
// strings addressed by pg_str.
template <class Rec>
struct RecordBuilder {
  std::vector<std::byte> bytes = std::vector<std::byte>(sizeof(Rec));
  Rec& rec() { return *reinterpret_cast<Rec*>(bytes.data()); }

  pg_str add(std::string_view s, uint16_t flags = 0) {
    pg_str d{};
    d.off = uint16_t(bytes.size());
    d.len = uint16_t(s.size());
    d.flags = flags;
    for (char c : s) bytes.push_back(std::byte(c));
    bytes.push_back(std::byte{0});
    return d;
  }
  std::span<const std::byte> finish(uint16_t type) {
    rec().hdr.type = type;
    rec().hdr.size = uint32_t(bytes.size());
    rec().hdr.ts_ns = 1000;
    return bytes;
  }
};

}  // namespace pg::user::test
