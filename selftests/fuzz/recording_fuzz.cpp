// libFuzzer target: a recording (user/recording.*) read from memory: the
// magic, the JSON header with its process table, and every frame kind.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "user/recording.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // fmemopen refuses a zero-length buffer; an empty recording is one byte short anyway.
  std::string copy(reinterpret_cast<const char*>(data), size);
  copy.push_back('\0');
  FILE* f = fmemopen(copy.data(), size + 1, "rb");
  if (!f) return 0;
  pg::user::RecordingHeader header;
  size_t bytes = 0;
  auto r = pg::user::read_recording(
      f, "fuzz.pgrec", header, [&](std::span<const std::byte> rec) { bytes += rec.size(); },
      [](int64_t) {}, [](uint64_t, std::string) {});
  (void)r;
  std::fclose(f);
  return 0;
}
