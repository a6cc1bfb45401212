// Helpers shared by the output tests: temp directories, reading a pipe with
// a deadline, waiting for a condition, a pipe, and a sample alert.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "user/output/alert.h"
#include "user/output/sink.h"

namespace pg::user::output::testing {

struct TempDir {
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pg-test-XXXXXX").string();
    path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// One '\n'-terminated line from `fd`, or "" when none arrives in `limit`.
inline std::string read_line(int fd, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  std::string line;
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char c;
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line.push_back(c);
  }
  return "";
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Alert sample_alert(std::string rule = "Write below etc",
                          std::string output = "File below /etc opened") {
  Alert a;
  a.time_ns = 1'795'835'045'123'456'789;  // 2026-11-28T03:04:05.123456789Z
  a.rule = std::move(rule);
  a.priority = Priority::Warning;
  a.source = "syscall";
  a.hostname = "host1";
  a.output = std::move(output);
  a.output_fields = {{"proc.name", std::string("cat")},
                     {"proc.pid", std::int64_t{4242}},
                     {"fd.is_dir", false},
                     {"container.id", std::monostate{}}};
  a.tags = {"filesystem", "mitre_persistence"};
  return a;
}

inline RenderedAlert rendered(Alert a = sample_alert()) {
  RenderedAlert r;
  r.json = to_json(a);
  r.text = to_text(a);
  r.alert = std::move(a);
  return r;
}

// A pipe closed at scope exit: a sink writes to fds[1], the test reads fds[0].
struct Pipe {
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2];
};

}  // namespace pg::user::output::testing
