// Audit events from files. A file holds either one JSON document (an Event
// or an EventList, possibly pretty-printed) or JSON lines (one document per
// line, as the API server's log backend writes). A directory means each of
// its regular files, in name order.
//
// A bad line is reported with its file and line number, counted and
// skipped; the lines around it still count. A bad single-document file
// contributes nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <thread>

#include "user/audit/document.h"

namespace pg::user::audit {

struct FileStats {
  uint64_t files = 0;
  uint64_t events = 0;
  uint64_t malformed = 0;  // lines or documents that were not audit JSON
};

// True if the file's first non-blank byte opens a JSON object: how
// `peregrine replay` tells audit files from recordings. Directories count
// when their first regular file does.
bool looks_like_audit_file(const std::string& path);

// Read a file or directory once. Fails only when it cannot be read at all.
std::expected<void, std::string> read_audit_path(const std::string& path, const EventSink& sink,
                                                 FileStats& stats);

// Follow a JSON-lines file the way `tail -F` does: read it from the
// beginning, then every line appended, and start over at the top of the
// new file when it is replaced (renamed away by logrotate) or truncated.
// A missing file is waited for.
class FileFollower {
 public:
  static std::unique_ptr<FileFollower> start(
      std::string path, EventSink sink,
      std::chrono::milliseconds poll = std::chrono::milliseconds(200));
  ~FileFollower();  // stop()
  void stop();
  uint64_t events() const { return events_; }
  uint64_t malformed() const { return malformed_; }
  uint64_t reopened() const { return reopened_; }

 private:
  FileFollower() = default;
  void run();
  std::string path_;
  EventSink sink_;
  std::chrono::milliseconds poll_{200};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> events_{0}, malformed_{0}, reopened_{0};
  std::thread thread_;
};

}  // namespace pg::user::audit
