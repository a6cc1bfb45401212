// The house's floors: every `#include "..."` of the sources runs down (or
// stays in its room), never up. The floor order is defined here, once:
// a room is a folder (or, for the detector, a file stem), and a file may
// include files of its own room or of rooms on lower floors. Rooms on the
// same floor do not include each other.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Room {
  std::string prefix;  // path prefix from the repository root
  int floor;
};

// Lowest first. The longest matching prefix names a file's room.
const std::vector<Room> kRooms = {
    {"kern/", 0},              // BPF programs and the shared ABI
    {"policy/", 1},            // rules → conditions and kernel halves (pure)
    {"user/", 2},              // ground: event, process, cgroup, path, host, signals, version
    {"user/io/", 3},           // files read and written on an operator's say-so
    {"user/config/", 4},       // configuration
    {"user/output/", 5},       // alert outputs
    {"user/container/", 5},    // container runtime metadata
    {"user/audit/", 5},        // the Kubernetes audit source
    {"user/metrics/", 6},      // metrics exposition and server
    {"user/engine/", 6},       // rules per event, fields, flag renderers
    {"user/syscalls/", 7},     // the syscall source: BPF, ring buffer, decode, kernel filter
    {"user/live_policy/", 8},  // the live policy and its kernel tables
    {"user/detector.", 9},     // the detector: sources → engine → outputs
    {"user/control/", 10},     // the control socket that drives the detector
    {"user/cli/", 11},         // the commands
    {"user/main.cpp", 12},     // wires the commands
};

const Room* room_of(const std::string& path) {
  const Room* best = nullptr;
  for (const auto& r : kRooms)
    if (path.starts_with(r.prefix) && (!best || r.prefix.size() > best->prefix.size())) best = &r;
  return best;
}

// "file:line: includes X (floor a → floor b)" for every upward include under
// the given top folders of `root`.
std::vector<std::string> upward_includes(const fs::path& root) {
  static const std::regex include(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> out;
  for (const char* top : {"kern", "policy", "user"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / top)) {
      if (!e.is_regular_file()) continue;
      const std::string ext = e.path().extension();
      if (ext != ".h" && ext != ".cpp" && ext != ".c") continue;
      const std::string rel = fs::relative(e.path(), root).generic_string();
      const Room* from = room_of(rel);
      if (!from) continue;
      std::ifstream in(e.path());
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        ++n;
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const Room* to = room_of(m[1].str());
        if (!to || to == from) continue;  // same room, or not ours ("api/…" inside kern/)
        if (to->floor < from->floor) continue;
        out.push_back(rel + ":" + std::to_string(n) + ": includes " + m[1].str() + " (" +
                      from->prefix + " floor " + std::to_string(from->floor) + " → " + to->prefix +
                      " floor " + std::to_string(to->floor) + ")");
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("floors: no include in kern/, policy/ or user/ runs upward") {
  REQUIRE(fs::exists("user/main.cpp"));  // run from the repository root
  std::string all;
  for (const auto& v : upward_includes(".")) all += "\n  " + v;
  CHECK_MESSAGE(all.empty(), "upward includes (the floors are in " __FILE__ "):" << all);
}

TEST_CASE("floors: the check finds an upward include planted in a tree") {
  const fs::path root = fs::temp_directory_path() / ("pg-floors-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "user/control");
  fs::create_directories(root / "user/engine");
  fs::create_directories(root / "policy");
  // Down, and within a room: allowed.
  std::ofstream(root / "user/control/service.cpp")
      << "#include \"user/control/socket.h\"\n#include \"user/detector.h\"\n"
         "#include \"policy/ruleset.h\"\n#include <vector>\n";
  // Up: the engine reaching the CLI, policy reaching user/, and two rooms of
  // one floor (output and container) reaching each other.
  std::ofstream(root / "user/engine/extract.cpp") << "#include \"user/cli/trace.h\"\n";
  std::ofstream(root / "policy/lowering.cpp") << "  #  include \"user/engine/extract.h\"\n";
  fs::create_directories(root / "user/output");
  std::ofstream(root / "user/output/alert.cpp") << "#include \"user/container/info.h\"\n";
  const auto found = upward_includes(root);
  fs::remove_all(root);
  REQUIRE(found.size() == 3);
  CHECK(found[0].starts_with("policy/lowering.cpp:1: includes user/engine/extract.h"));
  CHECK(found[1].starts_with("user/engine/extract.cpp:1: includes user/cli/trace.h"));
  CHECK(found[2].starts_with("user/output/alert.cpp:1: includes user/container/info.h"));
}
