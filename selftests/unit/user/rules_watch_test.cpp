// watch_rules_files against a directory laid out as Kubernetes mounts a
// ConfigMap: visible names linking through `..data`, swapped atomically.
#include "user/control/rules_watch.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "user/config/config.h"

using namespace pg::user;
namespace fs = std::filesystem;

namespace {

// A ConfigMap volume, updated as the kubelet updates one: the new version
// in a fresh hidden directory, `..data_tmp` pointed at it and renamed over
// `..data`, the old directory removed.
struct ConfigMapDir {
  fs::path dir = fs::temp_directory_path() / ("pg-cm-" + std::to_string(::getpid()));
  int version = 0;
  ConfigMapDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ConfigMapDir() { fs::remove_all(dir); }
  void publish(const std::vector<std::pair<std::string, std::string>>& files) {
    const std::string old =
        fs::is_symlink(dir / "..data") ? fs::read_symlink(dir / "..data").string() : "";
    const std::string ts = "..2026_12_03_00_00_00." + std::to_string(++version);
    fs::create_directories(dir / ts);
    for (const auto& [name, text] : files) {
      std::ofstream(dir / ts / name) << text;
      // Same times for every version: only the swap itself may tell them apart.
      timespec times[2] = {{1000, 0}, {1000, 0}};
      utimensat(AT_FDCWD, (dir / ts / name).c_str(), times, 0);
      if (!fs::exists(fs::symlink_status(dir / name)))
        fs::create_symlink("..data/" + name, dir / name);
    }
    fs::create_symlink(ts, dir / "..data_tmp");
    fs::rename(dir / "..data_tmp", dir / "..data");
    if (!old.empty()) fs::remove_all(dir / old);
  }
};

}  // namespace

TEST_CASE("a ConfigMap directory expands to the files of the one version ..data points to") {
  ConfigMapDir cm;
  cm.publish({{"b.yaml", "- list: b\n  items: []\n"}, {"a.yaml", "- list: a\n  items: []\n"}});
  auto files = config::expand_rules_paths({cm.dir.string()});
  REQUIRE(files);
  const std::string hidden = (cm.dir / "..2026_12_03_00_00_00.1").string();
  CHECK(*files == std::vector<std::string>{hidden + "/a.yaml", hidden + "/b.yaml"});
  cm.publish({{"a.yaml", "- list: a\n  items: [x]\n"}, {"b.yaml", "- list: b\n  items: []\n"}});
  files = config::expand_rules_paths({cm.dir.string()});
  REQUIRE(files);
  CHECK(files->front() == (cm.dir / "..2026_12_03_00_00_00.2/a.yaml").string());
}

TEST_CASE("the rules signature changes on a ..data swap even with equal sizes and times") {
  ConfigMapDir cm;
  cm.publish({{"r.yaml", "- list: l\n  items: [one]\n"}});
  const std::vector<std::string> paths{cm.dir.string()};
  const std::string v1 = control::rules_signature(paths);
  CHECK(control::rules_signature(paths) == v1);             // nothing changed, nothing seen
  cm.publish({{"r.yaml", "- list: l\n  items: [two]\n"}});  // same size, same times
  const std::string v2 = control::rules_signature(paths);
  CHECK(v2 != v1);
  // A plain file edited in place is still seen (size or time).
  const std::string plain = (cm.dir / "plain.yml").string();
  std::ofstream(plain) << "a";
  const std::string p1 = control::rules_signature({plain});
  std::ofstream(plain) << "abc";
  CHECK(control::rules_signature({plain}) != p1);
  // A path that disappears and comes back is a change both times.
  fs::remove(plain);
  const std::string gone = control::rules_signature({plain});
  CHECK(gone.find("error") != std::string::npos);
}

TEST_CASE("the rules watch wakes on a ..data swap, once per burst, and not for other dirs") {
  ConfigMapDir cm;
  cm.publish({{"r.yaml", "- list: l\n  items: []\n"}});
  std::atomic<int> wakes{0};
  auto w = control::RulesWatch::start([&] { ++wakes; });
  REQUIRE(w);
  (*w)->watch({cm.dir.string()});
  auto wait_wakes = [&](int n) {
    for (int i = 0; i < 200 && wakes.load() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return wakes.load();
  };
  cm.publish({{"r.yaml", "- list: l\n  items: [x]\n"}});
  CHECK(wait_wakes(1) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(wakes.load() == 1);  // the kubelet's several steps are one burst
  fs::create_directories(cm.dir / "..sub");
  std::ofstream(cm.dir / "..sub" / "x") << "not watched";  // a subdirectory's file
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(wakes.load() == 2);  // creating ..sub is an entry of the directory: seen
  std::ofstream(cm.dir / "..sub" / "y") << "y";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(wakes.load() == 2);  // inside the subdirectory: not ours
  w->reset();                // joins promptly
}
