// libFuzzer target: a recording (user/syscalls/recording.*) read from memory: the
// magic, the JSON header with its process table, and every frame kind.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "user/syscalls/recording.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // fmemopen refuses a zero-length buffer; an empty file is not a
  // recording anyway. The input is read exactly as given (no byte added).
  if (size == 0) return 0;
  std::string copy(reinterpret_cast<const char*>(data), size);
  FILE* f = fmemopen(copy.data(), size, "rb");
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
