#include "user/audit/file_input.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace pg::user::audit {

namespace fs = std::filesystem;

namespace {

// Evaluate every event of one document; false (and nothing evaluated) if it
// is not an audit document.
bool deliver(std::string_view text, const EventSink& sink, const std::string& where,
             uint64_t& events) {
  auto doc = parse_json(text);
  if (!doc) {
    spdlog::warn("{}: {}; skipped", where, doc.error());
    return false;
  }
  auto list = events_of(*doc);
  if (!list) {
    spdlog::warn("{}: {}; skipped", where, list.error());
    return false;
  }
  const int64_t now = now_ns();
  for (const Json* e : *list) sink(*e, event_time_ns(*e, now));
  events += list->size();
  return true;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace((unsigned char)c); });
}

std::vector<std::string> files_of(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::expected<void, std::string> read_file(const std::string& path, const EventSink& sink,
                                           FileStats& st) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ++st.files;
  if (blank(text)) return {};
  // One document (an EventList, or a pretty-printed Event) is the whole
  // file; otherwise it is JSON lines.
  auto whole = parse_json(text);
  if (whole) {
    if (!deliver(text, sink, path, st.events)) ++st.malformed;
    return {};
  }
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (blank(line)) continue;
    if (!deliver(line, sink, path + ":" + std::to_string(line_no), st.events)) ++st.malformed;
  }
  return {};
}

}  // namespace

bool looks_like_audit_file(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    auto files = files_of(path);
    if (files.empty()) return false;
    file = files.front();
  }
  std::ifstream in(file, std::ios::binary);
  char c;
  while (in.get(c))
    if (!std::isspace(static_cast<unsigned char>(c))) return c == '{';
  return false;
}

std::expected<void, std::string> read_audit_path(const std::string& path, const EventSink& sink,
                                                 FileStats& stats) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& f : files_of(path))
      if (auto ok = read_file(f, sink, stats); !ok) return ok;
    return {};
  }
  return read_file(path, sink, stats);
}

std::unique_ptr<FileFollower> FileFollower::start(std::string path, EventSink sink,
                                                  std::chrono::milliseconds poll) {
  std::unique_ptr<FileFollower> f(new FileFollower());
  f->path_ = std::move(path);
  f->sink_ = std::move(sink);
  f->poll_ = poll;
  f->thread_ = std::thread([p = f.get()] { p->run(); });
  return f;
}

FileFollower::~FileFollower() { stop(); }

void FileFollower::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FileFollower::run() {
  int fd = -1;
  struct stat cur {};
  std::string pending;  // a line still being written (no newline yet)
  uint64_t line_no = 0;
  bool warned_missing = false;
  char buf[1 << 16];
  auto consume = [&](bool flush_partial) {
    size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      ++line_no;
      if (blank(line)) continue;
      uint64_t n = 0;
      if (deliver(line, sink_, path_ + ":" + std::to_string(line_no), n))
        events_ += n;
      else
        ++malformed_;
    }
    pending.erase(0, start);
    if (flush_partial && !blank(pending)) {
      ++line_no;
      uint64_t n = 0;
      if (deliver(pending, sink_, path_ + ":" + std::to_string(line_no), n))
        events_ += n;
      else
        ++malformed_;
    }
    if (flush_partial) pending.clear();
  };
  while (!stop_) {
    if (fd < 0) {
      fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (!warned_missing) spdlog::warn("k8s_audit: waiting for {} to appear", path_);
        warned_missing = true;
        std::this_thread::sleep_for(poll_);
        continue;
      }
      fstat(fd, &cur);
      line_no = 0;
      pending.clear();
    }
    ssize_t n;
    bool got = false;
    while (!stop_ && (n = read(fd, buf, sizeof(buf))) > 0) {
      pending.append(buf, size_t(n));
      consume(false);
      got = true;
    }
    if (got) continue;
    // At the end: has the file been replaced or truncated?
    struct stat now {
    }, by_name{};
    fstat(fd, &now);
    bool replaced = stat(path_.c_str(), &by_name) == 0 &&
                    (by_name.st_ino != cur.st_ino || by_name.st_dev != cur.st_dev);
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (now.st_size < pos) {
      // Truncated in place (copytruncate): start over at the top.
      lseek(fd, 0, SEEK_SET);
      pending.clear();
      line_no = 0;
      ++reopened_;
      continue;
    }
    if (replaced) {
      // The old file is complete: a final line without newline still counts.
      consume(true);
      close(fd);
      fd = -1;
      ++reopened_;
      spdlog::info("k8s_audit: {} was replaced; reading the new file", path_);
      continue;
    }
    std::this_thread::sleep_for(poll_);
  }
  if (fd >= 0) close(fd);
}

}  // namespace pg::user::audit
