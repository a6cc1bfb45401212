#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "user/cli_run.h"
#include "user/decode.h"
#include "user/detector.h"
#include "user/recording.h"

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
  for (const auto& file : o.files) {
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
  spdlog::info(
      "replayed {} events from {} files in {:.3f} s ({:.0f} events/s; {} malformed); "
      "{} alerts",
      detector.events(), o.files.size(), secs, secs > 0 ? double(detector.events()) / secs : 0.0,
      malformed, os.enqueued);
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ReplayOptions>();
  auto* cmd =
      app.add_subcommand("replay", "Evaluate rules against recordings made with run --record");
  add_detector_options(cmd, o->detector);
  cmd->add_option("files", o->files, "Recordings to replay, in order")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([o, &exit_code] { exit_code = replay(*o); });
}

}  // namespace pg::user
