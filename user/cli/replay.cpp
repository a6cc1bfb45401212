#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "user/audit/file_input.h"
#include "user/cli/run.h"
#include "user/detector.h"
#include "user/syscalls/decode.h"
#include "user/syscalls/recording.h"

namespace pg::user {

namespace {

struct ReplayOptions {
  DetectorOptions detector;
  std::vector<std::string> files;
};

int replay(const ReplayOptions& o) {
  auto det = Detector::create(o.detector);
  if (!det) {
    spdlog::error("{}", det.error());
    return 1;
  }
  Detector& detector = **det;
  detector.start_outputs();
  uint64_t malformed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  audit::FileStats audit_stats;
  for (const auto& file : o.files) {
    // Audit files (JSON) and recordings (binary, "PGREC" magic) are told
    // apart by their first byte, so both can be given in one command.
    if (audit::looks_like_audit_file(file)) {
      const std::string hostname = host_name();
      auto ok = audit::read_audit_path(
          file,
          [&](const nlohmann::json& event, int64_t time_ns) {
            detector.on_audit_event(event, time_ns, hostname);
          },
          audit_stats);
      if (!ok) {
        detector.stop_outputs();
        spdlog::error("{}", ok.error());
        return 1;
      }
      continue;
    }
    RecordingHeader header;
    Clock clock(0);
    Event event;
    CgroupMap cgroups("");  // paths come from the recording only
    bool seeded = false;
    auto ok = read_recording(
        file, header,
        [&](std::span<const std::byte> rec) {
          if (!seeded) {
            clock = Clock(header.clock_offset_ns);
            seeded = true;
          }
          if (!decode_record(rec, clock, event)) {
            ++malformed;
            return;
          }
          header.procs.update(event);
          detector.on_event(event, header.procs, cgroups, header.hostname);
          header.procs.reap();
        },
        [&](int64_t offset) {
          clock = Clock(offset);
          seeded = true;
        },
        [&](uint64_t id, std::string path) { cgroups.add(id, std::move(path)); });
    if (!ok) {
      detector.stop_outputs();
      spdlog::error("{}", ok.error());
      return 1;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  detector.stop_outputs();
  detector.log_rule_matches();
  auto os = detector.outputs().stats();
  const uint64_t events = detector.events() + detector.audit_events();
  spdlog::info(
      "replayed {} events from {} files in {:.3f} s ({:.0f} events/s; {} malformed); "
      "{} alerts",
      events, o.files.size(), secs, secs > 0 ? double(events) / secs : 0.0,
      malformed + audit_stats.malformed, os.enqueued);
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ReplayOptions>();
  auto* cmd = app.add_subcommand(
      "replay",
      "Evaluate rules against recordings made with run --record, or Kubernetes audit files");
  add_detector_options(cmd, o->detector);
  cmd->add_option("files", o->files,
                  "Recordings or audit files (JSON lines, an EventList, or a directory), in order")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->callback([o, &exit_code] { exit_code = replay(*o); });
}

}  // namespace pg::user
