#include "user/output/from_config.h"

#include "user/host.h"
#include "user/output/sinks.h"

namespace pg::user::output {
Expected<std::unique_ptr<Dispatcher>, std::string> make_dispatcher(const config::Config& cfg,
                                                                   int stdout_fd) {
  Dispatcher::Options opts;
  opts.queue_capacity = static_cast<std::size_t>(cfg.outputs_queue.capacity);
  opts.sink_queue_capacity = static_cast<std::size_t>(cfg.outputs_queue.sink_capacity);
  opts.lost_alert_interval = std::chrono::milliseconds(cfg.outputs_queue.lost_alert_interval_ms);
  opts.hostname = node_hostname();
  opts.format.time_format_iso_8601 = cfg.time_format_iso_8601;
  opts.format.json_include_output_property = cfg.json_include_output_property;
  opts.format.json_include_tags_property = cfg.json_include_tags_property;
  opts.format.json_include_message_property = cfg.json_include_message_property;
  opts.format.json_include_output_fields_property = cfg.json_include_output_fields_property;
  const LineFormat lines = cfg.json_output ? LineFormat::Json : LineFormat::Text;
  auto d = std::make_unique<Dispatcher>(opts);

  if (cfg.stdout_output.enabled) d->add_sink(make_stdout_sink({lines, stdout_fd}));
  if (cfg.file_output.enabled) {
    auto s = make_file_sink({cfg.file_output.filename, lines, cfg.file_output.keep_alive});
    if (!s) return Unexpected(s.error());
    d->add_sink(std::move(*s));
  }
  if (cfg.syslog_output.enabled) {
    SyslogSinkOptions o;
    o.format = lines;
    o.socket_path = cfg.syslog_output.socket;
    d->add_sink(make_syslog_sink(std::move(o)));
  }
  if (cfg.program_output.enabled) {
    ProgramSinkOptions o;
    o.command = cfg.program_output.program;
    o.keep_alive = cfg.program_output.keep_alive;
    o.format = lines;
    o.write_timeout = std::chrono::milliseconds(cfg.program_output.write_timeout_ms);
    o.restart_delay = std::chrono::milliseconds(cfg.program_output.restart_delay_ms);
    auto s = make_program_sink(std::move(o));
    if (!s) return Unexpected(s.error());
    d->add_sink(std::move(*s));
  }
  if (cfg.http_output.enabled) {
    const auto& h = cfg.http_output;
    HttpSinkOptions o;
    o.url = h.url;
    o.headers = h.headers;
    o.connect_timeout = std::chrono::milliseconds(h.connect_timeout_ms);
    o.read_timeout = std::chrono::milliseconds(h.timeout_ms);
    o.max_retries = h.max_retries;
    o.initial_backoff = std::chrono::milliseconds(h.retry_backoff_ms);
    o.max_backoff = std::chrono::milliseconds(h.max_backoff_ms);
    o.tls_verify = !h.insecure;
    o.ca_file = h.ca_file;
    o.ca_bundle = h.ca_bundle;
    o.ca_path = h.ca_path;
    o.user_agent = h.user_agent;
    if (h.mtls) {
      o.client_cert = h.client_cert;
      o.client_key = h.client_key;
    }
    o.compress = h.compress_uploads;
    o.keep_alive = h.keep_alive;
    auto s = make_http_sink(std::move(o));
    if (!s) return Unexpected(s.error());
    d->add_sink(std::move(*s));
  }
  return d;
}

}  // namespace pg::user::output
