// watch_rules_files on a directory laid out as Kubernetes mounts a
// ConfigMap: each update swaps `..data` to a new hidden
// directory. The daemon must load every version through the same atomic
// switch as `policy load`, while a rule keeps firing, with no event left
// unevaluated.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.h"

using namespace pg::e2e;
namespace fs = std::filesystem;

namespace {

std::string rule(const std::string& name, const std::string& prefix) {
  return "- rule: " + name + "\n  desc: test rule\n  condition: >\n    evt.type = openat and " +
         "fd.name startswith \"" + prefix + "\"\n  output: \"" + name +
         " %fd.name\"\n  priority: WARNING\n";
}

void open_path(const std::string& path, int flags = O_RDONLY) {
  int fd = open(path.c_str(), flags, 0644);
  if (fd >= 0) close(fd);
}

// The kubelet's update: the new files in a fresh hidden directory,
// `..data_tmp` pointed at it and renamed over `..data`, the old one removed.
void publish(const fs::path& dir, int version, const std::string& text) {
  const fs::path data = dir / "..data";
  const std::string old = fs::is_symlink(data) ? fs::read_symlink(data).string() : "";
  const std::string ts = "..2026_12_03_10_00_00." + std::to_string(version);
  fs::create_directories(dir / ts);
  std::ofstream(dir / ts / "rules.yaml") << text;
  if (!fs::exists(fs::symlink_status(dir / "rules.yaml")))
    fs::create_symlink("..data/rules.yaml", dir / "rules.yaml");
  fs::create_symlink(ts, dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", data);
  if (!old.empty()) fs::remove_all(dir / old);
}

}  // namespace

TEST_CASE(
    "a ConfigMap rules directory: 200 ..data swaps each switch the policy; no trigger is "
    "missed") {
  TempDir t;
  const fs::path dir = fs::path(t.path) / "rules.d";
  fs::create_directories(dir);
  const std::string trig = t.path + "/trig-", ver = t.path + "/ver-";
  auto version_text = [&](int v) {
    return rule("Trigger", trig) + rule("Version " + std::to_string(v), ver + std::to_string(v));
  };
  publish(dir, 0, version_text(0));

  Daemon d({"run", "-c", "/dev/null", "-r", dir.string(), "--json", "-o", "watch_rules_files=true",
            "-o", "control_socket=" + t.path + "/ctl.sock"});
  REQUIRE_MESSAGE(d.ready(), d.stderr_text());

  // Triggers fire all along, 5 ms apart, until the changes are done.
  std::atomic<bool> changing{true};
  std::atomic<int> triggers{0};
  std::thread trigger([&] {
    for (int i = 0; changing.load() || i < 200; ++i) {
      open_path(trig + std::to_string(i), O_RDONLY | O_CREAT);
      triggers.store(i + 1);
      std::this_thread::sleep_for(5ms);
    }
  });

  constexpr int kChanges = 200;
  int active = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int v = 1; v <= kChanges; ++v) {
    publish(dir, v, version_text(v));
    // Version v is live once its own rule fires.
    const std::string name = "Version " + std::to_string(v), path = ver + std::to_string(v);
    bool live = false;
    for (auto until = std::chrono::steady_clock::now() + 5s;
         !live && std::chrono::steady_clock::now() < until;) {
      open_path(path);
      live =
          d.wait_for([&](const Json& j) { return j.value("rule", "") == name; }, 10ms).has_value();
    }
    if (!live) {
      MESSAGE("version ", v, " never became active");
      break;
    }
    ++active;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  changing.store(false);
  trigger.join();
  MESSAGE(active, " versions switched in ", secs, " s; ", triggers.load(), " triggers");
  CHECK(active == kChanges);

  // Events are handled in order: the last version's marker after the last
  // trigger means every trigger has been judged.
  const std::string last = ver + std::to_string(kChanges);
  auto previous = [&] {
    return d
        .all([&](const Json& j) {
          return j.value("rule", "") == "Version " + std::to_string(kChanges - 1);
        })
        .size();
  };
  const size_t previous_alerts = previous();
  open_path(ver + std::to_string(kChanges - 1));  // the previous version's rule is gone
  open_path(last);
  REQUIRE(d.wait_for(
      [&](const Json& j) {
        return j.value("rule", "") == "Version " + std::to_string(kChanges) &&
               j["output_fields"].value("fd.name", "") == last;
      },
      5s));
  std::set<std::string> seen;
  for (const auto& a : d.all([](const Json& j) { return j.value("rule", "") == "Trigger"; }))
    seen.insert(a["output_fields"].value("fd.name", ""));
  int missed = 0;
  for (int i = 0; i < triggers.load(); ++i)
    if (!seen.count(trig + std::to_string(i))) ++missed;
  CHECK(missed == 0);
  CHECK(previous() == previous_alerts);
  CHECK(d.stderr_text().find("reloading policy 'default' failed") == std::string::npos);
  CHECK(d.stop() == 0);
}
