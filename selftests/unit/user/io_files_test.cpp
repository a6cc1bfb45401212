// Reading what the operator names and writing what the daemon produces,
// against real FIFOs, devices, symlinks, hard links, other users' files and
// a full file system.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "policy/ruleset.h"
#include "selftests/unit/user/output_test_util.h"
#include "user/config/config.h"
#include "user/io/input_file.h"
#include "user/io/output_file.h"
#include "user/live_policy/policy_manager.h"
#include "user/output/alert.h"
#include "user/output/sinks.h"
#include "user/syscalls/recording.h"

using namespace pg::user;
using pg::user::output::testing::TempDir;

namespace {

// How long `f` took, in ms: every refusal here must be immediate, not a
// read that ends when memory does.
template <typename F>
long long ms_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("input files: a FIFO, a device and a directory are refused at once") {
  TempDir dir;
  const auto fifo = dir / "rules.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::expected<std::string, std::string> r;
  CHECK(ms_of([&] { r = io::read_regular_file(fifo); }) < 1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("FIFO") != std::string::npos);
  CHECK(r.error().find(fifo) != std::string::npos);
  CHECK(ms_of([&] { r = io::read_regular_file("/dev/zero"); }) < 1000);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("character device") != std::string::npos);
  r = io::read_regular_file(dir.path);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("directory") != std::string::npos);
}

TEST_CASE("input files: a file over the limit is refused, one under it read whole") {
  TempDir dir;
  const auto big = dir / "big.yaml";
  std::ofstream(big) << std::string(5000, 'x');
  auto r = io::read_regular_file(big, 4096);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("limit") != std::string::npos);
  r = io::read_regular_file(big, 8192);
  REQUIRE(r);
  CHECK(r->size() == 5000);
}

TEST_CASE("config: -c /dev/zero, a FIFO and a FIFO drop-in are refused quickly") {
  TempDir dir;
  const auto fifo = dir / "pg.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo}) {
    config::LoadOptions o;
    o.config_path = path;
    std::optional<pg::Expected<config::Config, config::ConfigError>> r;
    CHECK(ms_of([&] { r.emplace(config::load_config(o)); }) < 1000);
    REQUIRE_FALSE(*r);
    CHECK((*r).error().file == path);
    CHECK((*r).error().message.find("not a regular file") != std::string::npos);
  }
  const auto drop_in = dir / "drop.yaml";
  REQUIRE(::mkfifo(drop_in.c_str(), 0600) == 0);
  const auto main = dir / "main.yaml";
  std::ofstream(main) << "config_files: [" << drop_in << "]\n";
  config::LoadOptions o;
  o.config_path = main;
  std::optional<pg::Expected<config::Config, config::ConfigError>> r;
  CHECK(ms_of([&] { r.emplace(config::load_config(o)); }) < 1000);
  REQUIRE_FALSE(*r);
  CHECK((*r).error().to_string().find("FIFO") != std::string::npos);
}

TEST_CASE("rules: -r /dev/zero, a FIFO and policy load of either are refused quickly") {
  TempDir dir;
  const auto fifo = dir / "r.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo}) {
    auto files = config::expand_rules_paths({path});
    REQUIRE_FALSE(files);
    CHECK(files.error().file == path);
    std::expected<control::Policy, control::Error> p = std::unexpected(control::Error{});
    CHECK(ms_of([&] { p = control::load_policy("x", {path}); }) < 1000);
    REQUIRE_FALSE(p);
    CHECK(p.error().message.find("not a regular file") != std::string::npos);
  }
  // A FIFO named like a rules file inside a rules directory is not read.
  std::ofstream(dir / "ok.yaml") << "- list: l\n  items: [a]\n";
  auto files = config::expand_rules_paths({dir.path});
  REQUIRE(files);
  CHECK(*files == std::vector<std::string>{dir / "ok.yaml"});
}

TEST_CASE("rules: a file swapped for a FIFO or /dev/zero after the path check is still not read") {
  TempDir dir;
  const auto path = dir / "r.yaml", fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& swap_in : {fifo, std::string("/dev/zero")}) {
    CAPTURE(swap_in);
    std::filesystem::remove(path);
    std::ofstream(path) << "- list: l\n  items: [a]\n";
    auto files = config::expand_rules_paths({path});
    REQUIRE(files);  // checked: a small regular file
    // Swapped between the check and the load (what a user who can write
    // to the directory could do).
    std::filesystem::remove(path);
    if (swap_in == fifo)
      std::filesystem::rename(fifo, path);
    else
      std::filesystem::create_symlink(swap_in, path);
    pg::policy::LoadResult r;
    CHECK(ms_of([&] { r = pg::policy::load_rules(*files); }) < 1000);
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.error_count() == 1);
    CHECK(r.diagnostics.all().front().message.find("not a regular file") != std::string::npos);
  }
}

TEST_CASE("recordings: a FIFO or a device is refused, not read") {
  TempDir dir;
  const auto fifo = dir / "rec";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo}) {
    RecordingHeader h;
    std::expected<void, std::string> r;
    CHECK(ms_of([&] {
            r = read_recording(
                path, h, [](auto) {}, [](int64_t) {}, [](uint64_t, std::string) {});
          }) < 1000);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("not a regular file") != std::string::npos);
  }
}

TEST_CASE("output files: new ones are 0600, symlinks and hard links are refused") {
  TempDir dir;
  const auto path = dir / "alerts.txt";
  auto fd = io::open_output_file(path, io::OpenMode::Append);
  REQUIRE(fd);
  ::close(*fd);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  const auto victim = dir / "victim";
  std::ofstream(victim) << "precious\n";
  const auto link = dir / "link";
  REQUIRE(::symlink(victim.c_str(), link.c_str()) == 0);
  for (auto how : {io::OpenMode::Append, io::OpenMode::Truncate}) {
    auto r = io::open_output_file(link, how);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("symbolic link") != std::string::npos);
  }
  const auto hard = dir / "hard";
  REQUIRE(::link(victim.c_str(), hard.c_str()) == 0);
  auto r = io::open_output_file(hard, io::OpenMode::Truncate);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("hard links") != std::string::npos);
  CHECK(slurp(victim) == "precious\n");

  // The file output and the recorder go through the same door.
  auto sink = output::make_file_sink({link, output::LineFormat::Text});
  REQUIRE_FALSE(sink);
  CHECK(sink.error().find("symbolic link") != std::string::npos);
  auto rec = Recorder::create(link, "h", 0, ProcessTable{});
  REQUIRE_FALSE(rec);
  CHECK(slurp(victim) == "precious\n");
}

TEST_CASE("output files: a file another user owns is neither truncated nor appended to") {
  if (::geteuid() != 0) return;  // needs chown
  TempDir dir;
  const auto path = dir / "theirs";
  std::ofstream(path) << "theirs\n";
  REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
  for (auto how : {io::OpenMode::Append, io::OpenMode::Truncate}) {
    auto r = io::open_output_file(path, how);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("belongs to uid 65534") != std::string::npos);
  }
  CHECK(slurp(path) == "theirs\n");
}

TEST_CASE("output files: on a full disk a line is written whole or not at all") {
  if (::geteuid() != 0) return;  // needs mount
  TempDir dir;
  REQUIRE(::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=8k") == 0);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{dir.path};
  const auto path = dir / "alerts.json";
  auto sink = output::make_file_sink({path, output::LineFormat::Json});
  REQUIRE(sink);
  output::RenderedAlert a;
  a.json = "{\"rule\":\"r\",\"output\":\"" + std::string(1000, 'a') + "\"}";
  a.text = a.json;
  int delivered = 0, failed = 0;
  for (int i = 0; i < 20; ++i) ((*sink)->deliver(a) ? delivered : failed)++;
  CHECK(delivered > 0);
  CHECK(failed > 0);
  const std::string text = slurp(path);
  REQUIRE_FALSE(text.empty());
  CHECK(text.back() == '\n');
  CHECK(text.size() == size_t(delivered) * (a.json.size() + 1));
}

TEST_CASE("recordings: on a full disk only whole frames are kept, and the file replays") {
  if (::geteuid() != 0) return;  // needs mount
  TempDir dir;
  REQUIRE(::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=64k") == 0);
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{dir.path};
  // Something else holds most of the disk at first.
  const auto filler = dir / "filler";
  std::ofstream(filler) << std::string(40 * 1024, 'f');
  const auto path = dir / "events.pgrec";
  auto rec = Recorder::create(path, "host", 7, ProcessTable{});
  REQUIRE(rec);
  // Record i: 4 bytes of i, then a size that varies with i, filled with i's
  // low byte, so any frame read back can be checked whole.
  auto size_of = [](uint32_t i) { return size_t(64 + (i * 397) % 1500); };
  auto write = [&](uint32_t from, uint32_t to) {
    for (uint32_t i = from; i < to; ++i) {
      std::vector<std::byte> r(size_of(i), std::byte(i & 0xff));
      std::memcpy(r.data(), &i, sizeof(i));
      (*rec)->write_record(r);
      // A container seen while the disk is full: its path frame is lost
      // with the records around it.
      if (i == 150) (*rec)->write_cgroup(150, "/cg/150");
    }
    (*rec)->flush();
  };
  write(0, 200);  // ~160 KiB into ~24 KiB of room
  const uint64_t lost_full = (*rec)->lost_records();
  CHECK(lost_full > 100);
  REQUIRE(std::filesystem::remove(filler));
  write(200, 300);  // room again for a part of these
  const uint64_t lost = (*rec)->lost_records();
  rec->reset();
  CHECK(lost > lost_full);

  RecordingHeader h;
  std::vector<uint32_t> seen;
  size_t cgroup_at = SIZE_MAX;  // how many records were read before the path frame
  bool intact = true;
  auto r = read_recording(
      path, h,
      [&](std::span<const std::byte> f) {
        uint32_t i = UINT32_MAX;
        if (f.size() >= sizeof(i)) std::memcpy(&i, f.data(), sizeof(i));
        if (i >= 300 || f.size() != size_of(i)) {
          intact = false;
          return;
        }
        for (size_t k = sizeof(i); k < f.size(); ++k) intact &= f[k] == std::byte(i & 0xff);
        seen.push_back(i);
      },
      [](int64_t) {},
      [&](uint64_t id, const std::string& p) {
        if (id == 150 && p == "/cg/150") cgroup_at = seen.size();
      });
  REQUIRE_MESSAGE(r, r.error());  // no partial frame at the end or anywhere else
  CHECK(h.hostname == "host");
  CHECK(intact);
  CHECK(seen.size() + lost == 300);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  // The lost path frame was queued again and written once there was room,
  // ahead of every later record that made it.
  REQUIRE(cgroup_at != SIZE_MAX);
  CHECK(std::all_of(seen.begin(), seen.begin() + long(cgroup_at),
                    [](uint32_t i) { return i <= 150; }));
  CHECK(std::any_of(seen.begin(), seen.end(), [](uint32_t i) { return i >= 200; }));
}

TEST_CASE("text output: a newline in a field value cannot start a line of its own") {
  CHECK(io::escape_controls("plain") == "plain");
  CHECK(io::escape_controls("a\nb\rc\td\x1b[31m\x7f") == "a\\nb\\rc\\td\\x1b[31m\\x7f");
  output::Alert a;
  a.rule = "r";
  a.output = "cmd=sh -c x\n12:00:00.000000000: Critical forged";
  const std::string line = output::to_text(a, {});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find("\\n12:00:00") != std::string::npos);
}
