#include "user/ring_backlog.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pg::user {

std::expected<RingBacklog, std::string> RingBacklog::open(int fd) {
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &info_len) != 0)
    return std::unexpected(
        fmt::format("cannot read the ring buffer's size: {}", std::strerror(errno)));
  if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0)
    return std::unexpected(std::string("not a ring buffer map"));
  RingBacklog b;
  b.page_ = size_t(::sysconf(_SC_PAGESIZE));
  b.data_size_ = info.max_entries;
  b.len_ = 2 * b.page_ + 2 * size_t(info.max_entries);
  // Read-only: the kernel allows writing the consumer page alone, and this
  // view must never move the real reader's position.
  void* p = ::mmap(nullptr, b.len_, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return std::unexpected(
        fmt::format("cannot map the ring buffer for reading: {}", std::strerror(errno)));
  b.base_ = p;
  return b;
}

RingBacklog& RingBacklog::operator=(RingBacklog&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(base_, len_);
    base_ = std::exchange(o.base_, nullptr);
    len_ = std::exchange(o.len_, 0);
    page_ = o.page_;
    data_size_ = o.data_size_;
  }
  return *this;
}

RingBacklog::~RingBacklog() {
  if (base_) ::munmap(base_, len_);
}

uint64_t RingBacklog::records() const {
  if (!base_) return 0;
  auto* bytes = static_cast<const unsigned char*>(base_);
  // The kernel and the reader move these concurrently: acquire loads, as
  // libbpf reads them.
  auto load = [](const void* p) {
    return uint64_t(__atomic_load_n(static_cast<const unsigned long*>(p), __ATOMIC_ACQUIRE));
  };
  uint64_t pos = load(bytes);
  const uint64_t end = load(bytes + page_);
  const unsigned char* data = bytes + 2 * page_;
  const uint64_t mask = data_size_ - 1;
  uint64_t n = 0;
  // More than data_size_ apart cannot happen; bound the walk anyway.
  for (uint64_t steps = 0; pos < end && steps < data_size_ / BPF_RINGBUF_HDR_SZ; ++steps) {
    const uint32_t len =
        __atomic_load_n(reinterpret_cast<const uint32_t*>(data + (pos & mask)), __ATOMIC_ACQUIRE);
    if (!(len & BPF_RINGBUF_DISCARD_BIT)) ++n;
    const uint64_t size = len & ~uint32_t(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    pos += (size + BPF_RINGBUF_HDR_SZ + 7) & ~uint64_t(7);
  }
  return n;
}

}  // namespace pg::user
