// Watching rules files for `watch_rules_files`: what counts as a change,
// and an inotify thread that says "look now" instead of waiting for the
// once-a-second poll.
//
// A Kubernetes ConfigMap volume never edits a file in place. The kubelet
// writes the new version into a fresh hidden directory (..2026_12_03_...),
// points a temporary symlink at it and renames that over `..data`; the
// visible names (rules.yaml → ..data/rules.yaml) never change. So a
// signature of names, sizes and times alone can miss a swap (same size,
// times within one timestamp tick); ours also holds where `..data` points
// and each file's inode, which every swap changes.
#pragma once

#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pg::user::control {

// What a watch compares: for every path, the `..data` target of a
// directory that has one, then every rules file the paths expand to
// (config::expand_rules_paths) with its device, inode, size, modification
// and change times. A path that cannot be expanded gives its error text,
// so a path that comes back is seen as a change too.
std::string rules_signature(const std::vector<std::string>& paths);

class RulesWatch {
 public:
  // Starts the thread; `on_change` runs on it, once per burst of changes
  // (a burst ends after 20 ms without a new event, or at 500 ms).
  static std::expected<std::unique_ptr<RulesWatch>, std::string> start(
      std::function<void()> on_change);
  ~RulesWatch();
  RulesWatch(const RulesWatch&) = delete;
  RulesWatch& operator=(const RulesWatch&) = delete;

  // Watch the directories these rules paths live in (a directory itself, a
  // file's parent). Already watched ones are kept; a directory that cannot
  // be watched is left to the poll.
  void watch(const std::vector<std::string>& paths);

 private:
  RulesWatch() = default;
  void loop();

  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  std::function<void()> on_change_;
  std::mutex mu_;
  std::set<std::string> dirs_;
  std::thread thread_;
};

}  // namespace pg::user::control
