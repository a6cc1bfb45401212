#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "user/config/config.h"
#include "user/io/input_file.h"

namespace pg::user::config {

namespace fs = std::filesystem;

Expected<std::vector<std::string>, ConfigError> expand_rules_paths(
    const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& p) {
    if (seen.insert(p).second) out.push_back(p);
  };
  for (const auto& p : paths) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      ConfigError e;
      e.code = ConfigErrorCode::FileNotFound;
      e.file = p;
      e.message = "rules path does not exist" + (ec ? " (" + ec.message() + ")" : std::string());
      e.hint = "pass an existing rules file or directory with -r, or fix rules_files in the config";
      return Unexpected(e);
    }
    if (!fs::is_directory(st)) {
      // A FIFO or a device (/dev/zero) would hang or exhaust the loader.
      if (auto ok = io::check_regular_file(p); !ok) {
        ConfigError e;
        e.code = ConfigErrorCode::BadValue;
        e.file = p;
        e.message = "rules path refused: " + ok.error();
        e.hint = "rules paths must be regular files or directories of them";
        return Unexpected(e);
      }
      add(p);
      continue;
    }
    // A Kubernetes ConfigMap volume: the visible names link through the
    // `..data` symlink, which the kubelet swaps to a new hidden directory
    // per update. Resolving it once and reading every file from that one
    // directory loads one version of the whole set, never a mix.
    std::string dir = p;
    const fs::path data = fs::path(p) / "..data";
    if (fs::is_symlink(data, ec)) {
      auto target = fs::read_symlink(data, ec);
      if (!ec && fs::is_directory(fs::path(p) / target, ec))
        dir = (fs::path(p) / target).lexically_normal().string();
    }
    ec.clear();
    std::vector<std::string> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto ext = it->path().extension();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) {
        if (auto ok = io::check_regular_file(it->path().string()); !ok) {
          ConfigError e;
          e.code = ConfigErrorCode::BadValue;
          e.file = it->path().string();
          e.message = "rules file refused: " + ok.error();
          return Unexpected(e);
        }
        files.push_back(it->path().string());
      }
    }
    if (ec) {
      ConfigError e;
      e.code = ConfigErrorCode::FileNotFound;
      e.file = p;
      e.message = "cannot list rules directory: " + ec.message();
      return Unexpected(e);
    }
    // Byte order, like `ls` under LC_ALL=C: 00-base.yaml before 10-local.yaml.
    std::sort(files.begin(), files.end());
    for (const auto& f : files) add(f);
  }
  return out;
}

}  // namespace pg::user::config
