// The k8s_audit source as the daemon runs it, from the k8s_audit.*
// configuration: the webhook, or (k8s_audit.file set) a file followed
// through rotation, or a directory read once.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "user/audit/file_input.h"
#include "user/audit/webhook.h"
#include "user/config/config.h"

namespace pg::user::audit {

class Input {
 public:
  static std::expected<std::unique_ptr<Input>, std::string> start(const config::K8sAudit& cfg,
                                                                  EventSink sink);
  ~Input() { stop(); }
  void stop();
  // "webhook http://0.0.0.0:9765/k8s-audit", "file /var/log/audit.log"
  std::string describe() const;
  // Counters for the log line at exit.
  std::string stats_text() const;
  const Webhook* webhook() const { return webhook_.get(); }

 private:
  Input() = default;
  std::unique_ptr<Webhook> webhook_;
  std::unique_ptr<FileFollower> follower_;
  std::string dir_, file_;
  FileStats dir_stats_;
};

}  // namespace pg::user::audit
