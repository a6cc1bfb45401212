// The concrete sinks and their options. Each factory validates what it can
// up front and returns an error the operator can act on.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policy/expected.h"
#include "user/output/sink.h"

namespace pg::user::output {

struct StdoutSinkOptions {
  LineFormat format = LineFormat::Text;
  int fd = 1;  // injected so tests can read what was written; the daemon keeps 1
};
std::unique_ptr<Sink> make_stdout_sink(StdoutSinkOptions opts);

struct FileSinkOptions {
  std::string path;
  LineFormat format = LineFormat::Text;
  // Keep the file open between alerts (Falco's keep_alive). When false the
  // file is opened and closed for every alert.
  bool keep_alive = true;
};
// Fails when the file cannot be opened for appending.
Expected<std::unique_ptr<Sink>, std::string> make_file_sink(FileSinkOptions opts);

struct SyslogSinkOptions {
  LineFormat format = LineFormat::Text;
  // The local syslog socket (a Unix datagram socket). Injected rather than
  // hard-wired so tests can bind their own receiver.
  std::string socket_path = "/dev/log";
  std::string ident = "peregrine";
  int facility = 1 << 3;  // LOG_USER
};
// Never fails at construction: the socket may appear later (journald restart).
std::unique_ptr<Sink> make_syslog_sink(SyslogSinkOptions opts);

struct ProgramSinkOptions {
  std::string command;  // run as `/bin/sh -c command`
  LineFormat format = LineFormat::Text;
  // How long one write may wait for the program to read before the alert
  // counts as failed (the program is alive but not reading).
  std::chrono::milliseconds write_timeout{2000};
  // Minimum pause between two starts, so a program that exits at once is
  // not respawned in a tight loop.
  std::chrono::milliseconds restart_delay{1000};
  // false: one program per alert, which reads that alert and sees end of
  // input (Falco's program_output.keep_alive: false); the next alert waits
  // until it has exited, or write_timeout has passed.
  bool keep_alive = true;
};
Expected<std::unique_ptr<Sink>, std::string> make_program_sink(ProgramSinkOptions opts);

struct HttpSinkOptions {
  std::string url;  // http://host[:port]/path or https://…
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every POST
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
  int max_retries = 3;  // attempts after the first one
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  bool tls_verify = true;
  std::string ca_file;    // empty: the system trust store
  std::string ca_bundle;  // a second CA file, trusted in addition to ca_file
  std::string ca_path;
  std::string user_agent = "peregrine";  // a User-Agent in `headers` wins
  std::string client_cert;               // mTLS: both set, or neither
  std::string client_key;
  bool compress = false;   // gzip the body (Content-Encoding: gzip)
  bool keep_alive = true;  // reuse the connection between alerts
};
// Fails on a URL that is not http(s)://host[:port][/path].
Expected<std::unique_ptr<Sink>, std::string> make_http_sink(HttpSinkOptions opts);

}  // namespace pg::user::output
