// The interface every output sink implements, and what it is handed.
#pragma once

#include <string>
#include <string_view>

#include "policy/expected.h"
#include "user/output/alert.h"

namespace pg::user::output {

// An alert rendered once by the dispatcher and shared, read-only, by every
// sink's worker thread.
struct RenderedAlert {
  Alert alert;
  std::string json;  // to_json(alert, format options)
  std::string text;  // to_text(alert, format options)
};

// Which of the two renderings a line-oriented sink writes.
enum class LineFormat { Text, Json };

inline const std::string& line_of(const RenderedAlert& a, LineFormat f) {
  return f == LineFormat::Json ? a.json : a.text;
}

class Sink {
 public:
  virtual ~Sink() = default;

  // Short stable name used in logs and stats: "stdout", "file", "syslog",
  // "program", "http".
  virtual std::string_view name() const = 0;

  // Deliver one alert. Called only from this sink's own worker thread, so an
  // implementation may block (bounded by its own timeouts); it must not throw.
  // An error means the alert was not delivered; the text says why.
  virtual Expected<void, std::string> deliver(const RenderedAlert& alert) = 0;

  // Called from the worker thread before each delivery and about four times a
  // second when idle: reopen files, reap exited children, and so on.
  virtual void maintain() {}

  // Ask for the output to be reopened (file sink; SIGHUP after logrotate).
  // Async-signal-safe: implementations only set an atomic flag.
  virtual void request_reopen() noexcept {}

  // Called from another thread at shutdown once the drain deadline has
  // passed: abandon any in-progress wait (backoff sleep, slow request).
  virtual void interrupt() noexcept {}
};

}  // namespace pg::user::output
