#include "user/audit/input.h"

#include <fmt/format.h>

#include <filesystem>

namespace pg::user::audit {

std::expected<std::unique_ptr<Input>, std::string> Input::start(const config::K8sAudit& cfg,
                                                                EventSink sink) {
  std::unique_ptr<Input> in(new Input());
  if (!cfg.file.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(cfg.file, ec)) {
      // A directory is a finished batch (e.g. collected logs): read once.
      in->dir_ = cfg.file;
      auto ok = read_audit_path(cfg.file, sink, in->dir_stats_);
      if (!ok) return std::unexpected("k8s_audit.file: " + ok.error());
    } else {
      in->file_ = cfg.file;
      in->follower_ = FileFollower::start(cfg.file, std::move(sink));
    }
    return in;
  }
  WebhookOptions wo;
  wo.address = cfg.address;
  wo.port = cfg.port;
  wo.path = cfg.path;
  wo.tls_cert = cfg.tls_cert;
  wo.tls_key = cfg.tls_key;
  wo.token = cfg.token;
  wo.max_request_bytes = size_t(cfg.max_request_mb) << 20;
  wo.head_timeout = std::chrono::milliseconds(cfg.header_timeout_ms);
  wo.body_timeout = std::chrono::milliseconds(cfg.body_timeout_ms);
  wo.max_connections = size_t(cfg.max_connections);
  auto w = Webhook::start(wo, std::move(sink));
  if (!w) return std::unexpected(w.error());
  in->webhook_ = std::move(*w);
  return in;
}

void Input::stop() {
  if (webhook_) webhook_->stop();
  if (follower_) follower_->stop();
}

std::string Input::describe() const {
  if (webhook_) return "webhook " + webhook_->url();
  if (follower_) return "file " + file_ + " (followed)";
  return "directory " + dir_;
}

std::string Input::stats_text() const {
  if (webhook_) return webhook_->stats_text();
  if (follower_)
    return fmt::format("{} events, {} malformed lines, {} reopenings", follower_->events(),
                       follower_->malformed(), follower_->reopened());
  return fmt::format("{} files, {} events, {} malformed", dir_stats_.files, dir_stats_.events,
                     dir_stats_.malformed);
}

}  // namespace pg::user::audit
