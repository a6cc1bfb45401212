#include "user/cli/run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "user/audit/input.h"
#include "user/cli/support.h"
#include "user/control/service.h"
#include "user/detector.h"
#include "user/io/output_file.h"
#include "user/live_policy/kernel_hook.h"
#include "user/privileges.h"
#include "user/signals.h"
#include "user/syscalls/bpf_loader.h"
#include "user/syscalls/drop_alerts.h"
#include "user/syscalls/kernel_filter.h"
#include "user/syscalls/pipeline.h"
#include "user/syscalls/recording.h"

namespace pg::user {

namespace {

struct RunOptions {
  DetectorOptions detector;
  std::string record;
  bool dry_run = false;
  bool support = false;
  std::string cmdline;
};

// Event thread, after each batch: copy the pipeline's counters where other
// threads read them; once a second, rates and the drop alert.
void publish_stats(const Pipeline& pipeline, Detector& detector, control::RuntimeStats& rt,
                   DropAlerter& drops, std::atomic<bool>& stop) {
  const auto& st = pipeline.stats();
  rt.records.store(st.records, std::memory_order_relaxed);
  rt.decode_errors.store(st.decode_errors, std::memory_order_relaxed);
  for (uint32_t r = 0; r < PG_DROP__COUNT; ++r)
    rt.kernel_drops[r].store(st.kernel_drops[r], std::memory_order_relaxed);
  rt.touch();
  // The first loss is reported at once (the pipeline reads the kernel's
  // counters every 100 ms), past the alert queue; later ones at most once
  // per lost_alert_interval_ms. Falco's syscall_event_drops policy, which
  // judges a share of events per second, stays on the 1 s tick below.
  DropAlerter::Counters c;
  for (uint32_t r = 0; r < PG_DROP__COUNT; ++r)
    c.emplace_back("kernel." + std::string(drop_reason_name(r)), st.kernel_drops[r]);
  c.emplace_back("userspace.malformed", st.decode_errors);
  if (!drops.has_falco_policy())
    if (auto a = drops.check(c, std::chrono::steady_clock::now())) {
      spdlog::warn("{}", a->output);
      detector.outputs().enqueue_urgent(std::move(*a));
      rt.drop_alerts.fetch_add(1, std::memory_order_relaxed);
    }
  static thread_local auto last = std::chrono::steady_clock::now();
  static thread_local uint64_t last_records = 0, last_alerts = 0;
  const auto now = std::chrono::steady_clock::now();
  if (now - last < std::chrono::seconds(1)) return;
  const double dt = std::chrono::duration<double>(now - last).count();
  const uint64_t alerts = detector.outputs().stats().enqueued;
  rt.records_per_s.store(double(st.records - last_records) / dt, std::memory_order_relaxed);
  rt.alerts_per_s.store(double(alerts - last_alerts) / dt, std::memory_order_relaxed);
  last = now;
  last_records = st.records;
  last_alerts = alerts;
  if (drops.has_falco_policy()) {
    auto d = drops.decide(c, st.records, now);
    if (!d.log.empty()) spdlog::warn("syscall_event_drops: {}", d.log);
    if (d.alert) {
      detector.outputs().enqueue_urgent(std::move(*d.alert));
      rt.drop_alerts.fetch_add(1, std::memory_order_relaxed);
    }
    if (d.exit) {
      spdlog::error("syscall_event_drops: exiting, as its actions ask (exit)");
      stop.store(true);
    }
  }
}

void log_filter_counters(const KernelFilter& f) {
  auto c = f.counters();
  uint64_t seen = 0, passed = 0;
  for (const auto& k : c.kinds) {
    seen += k.seen;
    passed += k.passed;
  }
  uint64_t lc_seen = 0, lc_sent = 0;
  for (const auto& k : c.lifecycle) {
    lc_seen += k.seen;
    lc_sent += k.passed;
  }
  spdlog::info(
      "kernel filter ({}): {} events judged, {} passed to userspace, {} stopped in the "
      "kernel; {} exec/fork/exit events, {} sent",
      f.enabled() ? "on" : "off", seen, passed, seen - passed, lc_seen, lc_sent);
}

// Least privilege from here on (docs/security.md, "Privileges held"): the
// programs are loaded and attached and the pins exist; no thread runs yet.
void reduce_privileges(const config::Config& c) {
  KeptCapabilities k;
  k.bind_low_port = (c.webserver.enabled && c.webserver.listen_port < 1024) ||
                    (c.metrics.enabled && c.metrics.port < 1024) ||
                    (c.k8s_audit.enabled && c.k8s_audit.port < 1024);
  // Capabilities belong to each thread: the stop watchdog, started before
  // the programs loaded, drops its own too.
  // (Shared: a job that times out may still run after we return.)
  auto there = std::make_shared<std::expected<void, std::string>>(
      std::unexpected("the stop watchdog thread did not drop its capabilities"));
  k.other_threads = 1;
  auto ok = drop_capabilities(k);
  if (ok && (!run_on_watchdog_thread([there, k] { *there = drop_capabilities(k); }) || !*there))
    ok = std::unexpected(there->error());
  if (!ok)
    spdlog::warn("{}; the daemon keeps every capability it was started with", ok.error());
  else
    spdlog::info("capabilities reduced to {}", capability_names(kept_capabilities(k)));
}

int run_daemon(const RunOptions& o) {
  // First of all: a SIGTERM while the programs load must still end in a
  // clean exit, not the default action's (which would leave the pins).
  SignalFlags& signals = install_signal_handlers();
  auto det = Detector::create(o.detector);
  if (!det) {
    spdlog::error("{}", det.error());
    return 1;
  }
  Detector& detector = **det;
  const std::string hostname = host_name();

  // With the audit source on and no syscall rules, nothing needs the
  // kernel: run without loading any BPF program.
  const bool audit_on = detector.config().k8s_audit.enabled;
  const bool syscalls_on = !audit_on || !o.record.empty() ||
                           detector.engine().rule_count(policy::EventSource::Syscall) > 0;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Recorder> recorder;
  std::unique_ptr<KernelFilter> filter;
  std::unique_ptr<control::KernelTablesHook> tables;
  if (syscalls_on) {
    LoadOptions load;
    load.syscalls = detector.needed_hooks();
    load.ringbuf_bytes = uint32_t(detector.config().ring_buffer_size_mb) << 20;
    load.raw_syscall_fallback = detector.config().raw_syscall_fallback;
    auto started = Pipeline::start(load, [&](BpfSession& bpf) -> std::expected<void, std::string> {
      auto f = KernelFilter::create(bpf, kDefaultPinDir, detector.config().kernel_filter);
      if (!f) return std::unexpected(f.error());
      filter = std::move(*f);
      // From here on every policy switch also rebuilds and flips the kernel
      // tables; this first call lowers the startup policy.
      tables = std::make_unique<control::KernelTablesHook>(*filter);
      if (auto ok = detector.policies().set_kernel_hook(tables.get()); !ok)
        return std::unexpected("building the kernel filter tables failed: " + ok.error());
      return {};
    });
    if (!started) {
      spdlog::error("{}", started.error());
      return 1;
    }
    pipeline = std::move(*started);
    pipeline->cgroups().set_containerd_namespaces(
        detector.config().container.containerd_namespaces);
    // A policy loaded later that needs more syscalls gets their programs
    // attached before its tables go live (no restart).
    tables->set_attach_needed(
        [p = pipeline.get()](const engine::Engine& e) -> std::expected<void, std::string> {
          auto added = p->attach_more(needed_hooks(e));
          if (!added) return std::unexpected(added.error());
          if (!added->empty())
            spdlog::info("attached {} program(s) the new policy needs: {}", added->size(),
                         fmt::join(*added, ", "));
          return {};
        });
    // The kernel judges container-or-host per cgroup as userspace decides it.
    pipeline->cgroups().on_resolved(
        [f = filter.get(), &cg = pipeline->cgroups()](uint64_t id, const std::string&) {
          if (const ContainerRef* c = cg.container(id)) f->note_cgroup(id, !c->host());
        });
    // What userspace judges of each exec's image, the kernel uses for the
    // process's later events (PG_FF_IMAGE).
    if (filter->enabled())
      detector.set_image_sink(
          [f = filter.get()](uint64_t image, const pg_image_slots& v) { f->note_image(image, v); });
    if (!o.record.empty()) {
      auto r =
          Recorder::create(o.record, hostname, pipeline->clock_offset(), pipeline->processes());
      if (!r) {
        spdlog::error("{}", r.error());
        return 1;
      }
      recorder = std::move(*r);
      pipeline->set_recorder(recorder.get());
    }
  } else {
    spdlog::info(
        "no syscall rules at start, so no programs attached; syscall rules loaded later "
        "take effect after a restart");
  }
  reduce_privileges(detector.config());
  detector.enable_containers();

  // The control socket, metrics and reloads run on their own threads and
  // reach the event thread only through the PolicyManager and RuntimeStats.
  control::RuntimeStats runtime;
  control::ServiceOptions so;
  so.socket_path = detector.config().control_socket;
  so.webserver = detector.config().webserver;
  so.metrics = detector.config().metrics.enabled;
  so.metrics_address = detector.config().metrics.address;
  so.metrics_port = detector.config().metrics.port;
  so.watch_rules_files = detector.config().watch_rules_files;
  so.running_config = detector.config();
  so.reread_config = [&o]() -> std::expected<config::Config, std::string> {
    auto c = load_detector_config(o.detector);
    if (c) return *c;
    std::string all = c.error().to_string();
    for (const auto& m : c.error().more) all += "\n" + m.to_string();
    return std::unexpected(all);
  };
  if (pipeline) {
    so.attached = [p = pipeline.get()] { return p->attached(); };
    so.uncaptured = [p = pipeline.get()] { return p->uncaptured(); };
    so.queued = [p = pipeline.get()] { return p->queued(); };
    so.maps = pipeline->maps();
  }
  auto service = control::ControlService::start(detector, runtime, so);
  if (!service) {
    spdlog::error("{}", service.error());
    return 1;
  }
  DropAlerter drop_alerter(
      std::chrono::milliseconds(detector.config().outputs_queue.lost_alert_interval_ms), hostname);
  if (detector.config().syscall_event_drops.configured)
    drop_alerter.set_falco_policy(detector.config().syscall_event_drops);
  detector.start_outputs();

  std::unique_ptr<audit::Input> audit_in;
  if (audit_on) {
    auto in = audit::Input::start(detector.config().k8s_audit,
                                  [&](const nlohmann::json& event, int64_t time_ns) {
                                    detector.on_audit_event(event, time_ns, hostname);
                                  });
    if (!in) {
      service->reset();
      detector.stop_outputs();
      spdlog::error("{}", in.error());
      return 1;
    }
    audit_in = std::move(*in);
    spdlog::info("k8s_audit: {} rules, events from {}",
                 detector.engine().rule_count(policy::EventSource::K8sAudit), audit_in->describe());
  }

  auto& stop = signals.stop;
  // Every thread has started: the steady state's seccomp filter for all.
  if (auto ok = install_seccomp(); !ok)
    spdlog::warn("{}; running without a seccomp filter", ok.error());
  else
    spdlog::info("seccomp filter installed (docs/security.md)");

  // Falco's metrics.output_rule / output_file: a snapshot every interval.
  const auto& mcfg = detector.config().metrics;
  const bool snapshots = mcfg.enabled && (mcfg.output_rule || !mcfg.output_file.empty());
  auto next_snapshot =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(mcfg.interval_ms);
  uint64_t snapshot_events = 0;
  auto take_snapshot = [&] {
    const auto s = (*service)->metrics_snapshot();
    const double rate = double(s.decoded - std::min(s.decoded, snapshot_events)) /
                        (double(mcfg.interval_ms) / 1000);
    snapshot_events = s.decoded;
    auto alert = metrics_snapshot_alert(s, mcfg, hostname, rate);
    if (!mcfg.output_file.empty()) {
      static uint64_t sample = 0;
      const std::string line = output::metrics_file_line(alert, ++sample);
      auto fd = io::open_output_file(mcfg.output_file, io::OpenMode::Append);
      int err = fd ? io::append_whole_line(*fd, line) : 0;
      if (fd) ::close(*fd);
      if (!fd)
        spdlog::warn("metrics.output_file: {}", fd.error());
      else if (err != 0)
        spdlog::warn("metrics.output_file {}: cannot append: {}", mcfg.output_file,
                     std::strerror(err));
    }
    if (mcfg.output_rule) detector.outputs().enqueue(std::move(alert));
  };

  // Event thread, after each batch: at least every Pipeline::kPollMs.
  auto on_batch = [&] {
    if (pipeline) detector.release_held(pipeline->cgroups(), hostname, false);
    if (signals.reload.exchange(false)) {
      spdlog::info("SIGHUP: reopening outputs and reloading the rules files");
      detector.outputs().reopen();
      (*service)->request_reload();
    }
    // SIGUSR1, Falco's "reopen outputs" (logrotate's postrotate): files
    // and programs are reopened; rules are left alone.
    if (signals.reopen.exchange(false)) {
      spdlog::info("SIGUSR1: reopening the file and program outputs");
      detector.outputs().reopen();
    }
    log_ignored_signals(signals);
    detector.adopt_policy(pipeline ? &pipeline->processes() : nullptr);
    if (pipeline) publish_stats(*pipeline, detector, runtime, drop_alerter, stop);
    if (snapshots && std::chrono::steady_clock::now() >= next_snapshot) {
      next_snapshot += std::chrono::milliseconds(mcfg.interval_ms);
      take_snapshot();
    }
  };
  if (pipeline) {
    spdlog::info("{} rules active; {} programs attached ({}); ready",
                 detector.engine().rule_count(), pipeline->attached().size(),
                 fmt::join(pipeline->attached(), ", "));
    pipeline->run(
        stop,
        [&](const Event& e, const ProcessTable& procs, CgroupMap& cgroups) {
          detector.on_event(e, procs, cgroups, hostname);
        },
        on_batch);
  } else {
    spdlog::info("{} rules active; ready", detector.engine().rule_count());
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      on_batch();
    }
  }
  if (audit_in) {
    audit_in->stop();
    spdlog::info("k8s_audit: {}", audit_in->stats_text());
  }
  service->reset();  // no control command may touch the detector from here on

  if (pipeline) detector.release_held(pipeline->cgroups(), hostname, true);
  detector.stop_outputs();
  detector.log_rule_matches();
  if (auto* c = detector.containers()) {
    c->stop();  // requests still in flight end (and are counted) first
    c->log_summary();
  }
  (void)detector.policies().set_kernel_hook(nullptr);
  if (filter) log_filter_counters(*filter);
  auto os = detector.outputs().stats();
  if (pipeline) {
    // Records the bounded stop left in the ring buffer were captured and
    // never evaluated: lost too, and said so.
    const auto& st = pipeline->stats();
    spdlog::info(
        "stopped: {} records received, {} lost ({} in the kernel, {} left unread in the ring "
        "buffer at stop), {} malformed; {} alerts queued, {} lost in outputs",
        st.records, st.kernel_lost() + st.unread_at_stop, st.kernel_lost(), st.unread_at_stop,
        st.decode_errors, os.enqueued, os.total_lost());
  } else {
    spdlog::info("stopped: {} audit events; {} alerts queued, {} lost in outputs",
                 detector.audit_events(), os.enqueued, os.total_lost());
  }
  if (recorder) recorder->flush();
  if (recorder && recorder->lost_records())
    spdlog::warn(
        "the recording {} is incomplete: {} records could not be written (disk full?); it "
        "holds whole frames only and replays what it holds",
        o.record, recorder->lost_records());
  return 0;
}

}  // namespace

void add_detector_options(CLI::App* cmd, DetectorOptions& o) {
  cmd->add_option_function<std::string>(
      "-c,--config", [&o](const std::string& p) { o.config_path = p; },
      "Configuration file (default /etc/peregrine/peregrine.yaml)");
  cmd->add_option("-r,--rules", o.rules, "Rules file or directory (repeatable)");
  cmd->add_option("-o,--option", o.overrides, "Override a configuration key: key.path=value");
  cmd->add_flag("--json", o.json, "Alerts on stdout as Falco JSON");
  cmd->add_flag("--no-kernel-filter", o.no_kernel_filter,
                "Send every event of an attached syscall to userspace (same as -o "
                "kernel_filter=false; for comparisons)");
  cmd->add_flag("--strict-config", o.strict_config,
                "Refuse Falco configuration keys Peregrine has no equivalent for (otherwise "
                "each gives one warning)");
}

void add_run_command(CLI::App& app, int& exit_code, const std::string& cmdline) {
  auto o = std::make_shared<RunOptions>();
  o->cmdline = cmdline;
  auto* cmd = app.add_subcommand("run", "Run the detector in the foreground");
  add_detector_options(cmd, o->detector);
  cmd->add_option("--record", o->record,
                  "Also write the events that reach userspace to FILE, for 'peregrine replay'");
  cmd->add_flag("--dry-run", o->dry_run,
                "Load the configuration and the rules, report every problem with its location, "
                "and exit (0: both load, 1: problems); loads no BPF");
  cmd->add_flag("--support", o->support,
                "Print versions, kernel, configuration files and rules digests as JSON, and exit");
  cmd->callback([o, &exit_code] {
    if (o->dry_run)
      exit_code = dry_run(o->detector);
    else if (o->support)
      exit_code = print_support(o->detector, o->cmdline);
    else
      exit_code = run_daemon(*o);
  });
}

}  // namespace pg::user
