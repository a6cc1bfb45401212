#include "user/syscalls/recording.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "user/io/input_file.h"
#include "user/io/output_file.h"
#include "user/text.h"

namespace pg::user {

namespace {

// The last byte is the record ABI version (kern/api/records.h layouts).
constexpr char kMagic[8] = {'P', 'G', 'R', 'E', 'C', 0, 0, 5};
constexpr uint32_t kClockFrame = 0xffffffffu;
constexpr uint32_t kCgroupFrame = 0xfffffffeu;
constexpr uint32_t kMaxFrame = 1u << 20;

nlohmann::json to_json(const Process& p) {
  return {{"pid", p.pid},
          {"ppid", p.ppid},
          {"comm", p.comm},
          {"exepath", p.exepath},
          {"argv", p.argv},
          {"env", split_argv(p.env)},
          {"cwd", p.cwd},
          {"uid", p.uid},
          {"gid", p.gid},
          {"loginuid", p.loginuid},
          {"tty", p.tty},
          {"sid", p.sid},
          {"vpid", p.vpid},
          {"start_ns", p.start_ns},
          {"cgroup_id", p.cgroup_id},
          {"exe_flags", p.exe_flags}};
}

Process from_json(const nlohmann::json& j) {
  Process p;
  p.pid = j.at("pid");
  p.ppid = j.at("ppid");
  p.comm = j.at("comm");
  p.exepath = j.at("exepath");
  p.argv = j.at("argv").get<std::vector<std::string>>();
  for (const auto& entry : j.at("env").get<std::vector<std::string>>()) {
    p.env += entry;
    p.env += '\0';
  }
  p.cwd = j.at("cwd");
  p.uid = j.at("uid");
  p.gid = j.at("gid");
  p.loginuid = j.at("loginuid");
  p.tty = j.at("tty");
  p.sid = j.at("sid");
  p.vpid = j.at("vpid");
  p.start_ns = j.at("start_ns");
  p.cgroup_id = j.at("cgroup_id");
  p.exe_flags = j.at("exe_flags");
  return p;
}

}  // namespace

std::expected<std::unique_ptr<Recorder>, std::string> Recorder::create(const std::string& path,
                                                                       const std::string& hostname,
                                                                       int64_t clock_offset_ns,
                                                                       const ProcessTable& procs) {
  std::unique_ptr<Recorder> r(new Recorder());
  // 0600, no symlink followed, nobody else's file truncated: a recording
  // holds every process's argv and environment.
  auto fd = io::open_output_file(path, io::OpenMode::Truncate);
  if (!fd) return std::unexpected(fmt::format("cannot create recording: {}", fd.error()));
  r->fd_ = *fd;
  nlohmann::json header = {{"hostname", hostname}, {"clock_offset_ns", clock_offset_ns}};
  auto& list = header["processes"] = nlohmann::json::array();
  procs.for_each([&](const Process& p) { list.push_back(to_json(p)); });
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  uint32_t n = uint32_t(text.size());
  r->begin_frame();
  r->put(kMagic, sizeof(kMagic));
  r->put(&n, sizeof(n));
  r->put(text.data(), text.size());
  r->end_frame();
  r->flush();
  if (r->file_end_ == 0)
    return std::unexpected(
        fmt::format("cannot write recording {}: {}", path, std::strerror(r->last_error_)));
  return r;
}

Recorder::~Recorder() {
  if (fd_ < 0) return;
  flush();
  ::close(fd_);
}

void Recorder::begin_frame() {
  if (buf_.size() >= kFlushBytes) flush();
}

void Recorder::put(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }

void Recorder::end_frame() { frame_ends_.push_back(buf_.size()); }

void Recorder::flush() {
  if (buf_.empty()) return;
  // pwrite at the known end: after a cut the descriptor's offset is past
  // the end, and a plain write would leave a hole.
  size_t done = 0;
  int err = 0;
  while (done < buf_.size()) {
    ssize_t n = ::pwrite(fd_, buf_.data() + done, buf_.size() - done, file_end_ + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += size_t(n);
  }
  if (!err) {
    file_end_ += off_t(buf_.size());
    buf_.clear();
    frame_ends_.clear();
    return;
  }
  // Keep the frames written whole; cut off the one the disk filled in.
  last_error_ = err;
  size_t whole = 0, kept = 0;
  while (kept < frame_ends_.size() && frame_ends_[kept] <= done) whole = frame_ends_[kept++];
  if (done > whole && ::ftruncate(fd_, file_end_ + off_t(whole)) != 0)
    spdlog::warn("recording: cannot cut a partial frame off after a failed write: {}",
                 std::strerror(errno));
  file_end_ += off_t(whole);
  const std::string lost = buf_.substr(whole);
  std::vector<size_t> lost_ends;
  for (size_t i = kept; i < frame_ends_.size(); ++i) lost_ends.push_back(frame_ends_[i] - whole);
  buf_.clear();
  frame_ends_.clear();
  requeue_state(lost, lost_ends);
}

void Recorder::requeue_state(std::string_view lost, const std::vector<size_t>& ends) {
  size_t begin = 0;
  std::string_view latest_clock;
  for (size_t end : ends) {
    std::string_view frame = lost.substr(begin, end - begin);
    begin = end;
    uint32_t tag = 0;
    if (frame.size() >= sizeof(tag)) std::memcpy(&tag, frame.data(), sizeof(tag));
    if (tag == kClockFrame) {
      latest_clock = frame;  // an older offset is superseded, not lost
    } else if (tag == kCgroupFrame) {
      put(frame.data(), frame.size());
      end_frame();
    } else {
      ++lost_records_;
    }
  }
  if (!latest_clock.empty()) {
    put(latest_clock.data(), latest_clock.size());
    end_frame();
  }
}

void Recorder::write_record(std::span<const std::byte> rec) {
  uint32_t n = uint32_t(rec.size());
  begin_frame();
  put(&n, sizeof(n));
  put(rec.data(), rec.size());
  end_frame();
}

void Recorder::write_clock(int64_t clock_offset_ns) {
  begin_frame();
  put(&kClockFrame, sizeof(kClockFrame));
  put(&clock_offset_ns, sizeof(clock_offset_ns));
  end_frame();
}

void Recorder::write_cgroup(uint64_t id, const std::string& path) {
  uint32_t n = uint32_t(path.size());
  begin_frame();
  put(&kCgroupFrame, sizeof(kCgroupFrame));
  put(&id, sizeof(id));
  put(&n, sizeof(n));
  put(path.data(), path.size());
  end_frame();
}

std::expected<void, std::string> read_recording(
    const std::string& path, RecordingHeader& header,
    const std::function<void(std::span<const std::byte>)>& on_record,
    const std::function<void(int64_t)>& on_clock,
    const std::function<void(uint64_t, std::string)>& on_cgroup) {
  // Frames are streamed, so a recording may be of any size; but a FIFO or
  // a device must not be read from.
  auto fd = io::open_regular_file(path, UINT64_MAX);
  if (!fd) return std::unexpected(fd.error());
  std::unique_ptr<FILE, int (*)(FILE*)> f(::fdopen(*fd, "rb"), std::fclose);
  if (!f) {
    ::close(*fd);
    return std::unexpected(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  return read_recording(f.get(), path, header, on_record, on_clock, on_cgroup);
}

std::expected<void, std::string> read_recording(
    FILE* file, const std::string& path, RecordingHeader& header,
    const std::function<void(std::span<const std::byte>)>& on_record,
    const std::function<void(int64_t)>& on_clock,
    const std::function<void(uint64_t, std::string)>& on_cgroup) {
  struct Borrowed {
    FILE* p;
    FILE* get() const { return p; }
  } f{file};
  char magic[8];
  if (std::fread(magic, 1, 8, f.get()) != 8) magic[0] = 0;
  if (std::memcmp(magic, kMagic, 7) == 0 && magic[7] != kMagic[7])
    return std::unexpected(
        fmt::format("{} was recorded by another Peregrine version (record "
                    "format {}, this build reads {}); record it again",
                    path, int(magic[7]), int(kMagic[7])));
  if (std::memcmp(magic, kMagic, 8) != 0)
    return std::unexpected(fmt::format(
        "{} is not a Peregrine recording (made with 'peregrine run --record FILE')", path));
  uint32_t n = 0;
  if (std::fread(&n, sizeof(n), 1, f.get()) != 1 || n > (64u << 20))
    return std::unexpected(fmt::format("{}: truncated or corrupt header", path));
  std::string text(n, '\0');
  if (std::fread(text.data(), 1, n, f.get()) != n)
    return std::unexpected(fmt::format("{}: truncated header", path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::unexpected(fmt::format("{}: header is not valid JSON", path));
  try {
    header.hostname = j.at("hostname");
    header.clock_offset_ns = j.at("clock_offset_ns");
    for (const auto& p : j.at("processes")) header.procs.insert(from_json(p));
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(fmt::format("{}: bad header: {}", path, e.what()));
  }
  std::vector<std::byte> buf;
  uint64_t frame = 0;
  while (std::fread(&n, sizeof(n), 1, f.get()) == 1) {
    ++frame;
    if (n == kClockFrame) {
      int64_t off = 0;
      if (std::fread(&off, sizeof(off), 1, f.get()) != 1)
        return std::unexpected(fmt::format("{}: truncated clock frame {}", path, frame));
      on_clock(off);
      continue;
    }
    if (n == kCgroupFrame) {
      uint64_t id = 0;
      uint32_t len = 0;
      if (std::fread(&id, sizeof(id), 1, f.get()) != 1 ||
          std::fread(&len, sizeof(len), 1, f.get()) != 1 || len > 65536)
        return std::unexpected(fmt::format("{}: truncated cgroup frame {}", path, frame));
      std::string p(len, '\0');
      if (std::fread(p.data(), 1, len, f.get()) != len)
        return std::unexpected(fmt::format("{}: truncated cgroup frame {}", path, frame));
      on_cgroup(id, std::move(p));
      continue;
    }
    if (n > kMaxFrame)
      return std::unexpected(fmt::format("{}: frame {} claims {} bytes; corrupt", path, frame, n));
    buf.resize(n);
    if (std::fread(buf.data(), 1, n, f.get()) != n)
      return std::unexpected(fmt::format("{}: truncated frame {}", path, frame));
    on_record(buf);
  }
  return {};
}

}  // namespace pg::user
