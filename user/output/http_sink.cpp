// http: POST each alert's JSON to a webhook (Falcosidekick, a SIEM
// collector…), with bounded retries and exponential backoff.
//
// Retries: transport errors (refused, timed out, TLS failure), 5xx and 429
// are retried; any other status is final, since resending the same body
// will not change the answer. The backoff wait is interruptible so shutdown
// is not held up by a dead webhook; the worker thread is this sink's alone,
// so waiting here never delays other sinks.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <regex>

#include "user/output/httplib_config.h"
#include "user/output/sinks.h"

namespace pg::user::output {
namespace {

struct ParsedUrl {
  std::string base;  // scheme://host[:port]
  std::string path;  // /path?query, at least "/"
};

std::optional<ParsedUrl> parse_url(const std::string& url) {
  static const std::regex re(
      R"(^(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]]+)(:[0-9]{1,5})?([/?][^#]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return std::nullopt;
  ParsedUrl p;
  p.base = m[1].str() + "://" + m[2].str() + m[3].str();
  p.path = m[4].matched ? m[4].str() : "/";
  if (p.path.front() == '?') p.path.insert(0, "/");
  return p;
}

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect (refused or unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "no complete answer within the read timeout";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA certificates";
    case httplib::Error::SSLServerVerification:
      return "server certificate not trusted (set http_output.ca_file, or http_output.insecure: "
             "true to skip verification)";
    case httplib::Error::Canceled:
      return "cancelled";
    default:
      return httplib::to_string(e);
  }
}

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

class HttpSink final : public Sink {
 public:
  HttpSink(HttpSinkOptions opts, ParsedUrl url)
      : opts_(std::move(opts)),
        url_(std::move(url)),
        client_(url_.base, opts_.client_cert, opts_.client_key) {
    client_.set_connection_timeout(opts_.connect_timeout);
    client_.set_read_timeout(opts_.read_timeout);
    client_.set_write_timeout(opts_.read_timeout);
    client_.set_keep_alive(opts_.keep_alive);
    client_.set_compress(opts_.compress);
    client_.enable_server_certificate_verification(opts_.tls_verify);
    if (!opts_.ca_bundle.empty()) {
      // Two CA files (Falco's ca_cert and ca_bundle) do not fit httplib's
      // one-file setting: load both into one store, which httplib owns.
      X509_STORE* store = X509_STORE_new();
      for (const auto& f : {opts_.ca_file, opts_.ca_bundle})
        if (!f.empty()) X509_STORE_load_locations(store, f.c_str(), nullptr);
      if (!opts_.ca_path.empty()) X509_STORE_load_locations(store, nullptr, opts_.ca_path.c_str());
      client_.set_ca_cert_store(store);
    } else if (!opts_.ca_file.empty() || !opts_.ca_path.empty()) {
      client_.set_ca_cert_path(opts_.ca_file, opts_.ca_path);
    }
    content_type_ = "application/json";
    for (const auto& [k, v] : opts_.headers) {
      if (ieq(k, "Content-Type"))
        content_type_ = v;
      else
        headers_.emplace(k, v);
    }
    bool has_ua = false;
    for (const auto& [k, v] : headers_) has_ua = has_ua || ieq(k, "User-Agent");
    if (!has_ua && !opts_.user_agent.empty()) headers_.emplace("User-Agent", opts_.user_agent);
  }

  std::string_view name() const override { return "http"; }

  void interrupt() noexcept override {
    {
      std::lock_guard lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
    client_.stop();
  }

  Expected<void, std::string> deliver(const RenderedAlert& alert) override {
    auto backoff = opts_.initial_backoff;
    std::string why;
    for (int attempt = 0; attempt <= opts_.max_retries; ++attempt) {
      if (attempt > 0) {
        if (!sleep(backoff)) break;
        backoff = std::min(backoff * 2, opts_.max_backoff);
      }
      bool retry = false;
      try {
        auto res = client_.Post(url_.path, headers_, alert.json, content_type_);
        if (!res) {
          why = "POST " + opts_.url + ": " + describe(res.error());
          retry = true;
        } else if (res->status >= 200 && res->status < 300) {
          return {};
        } else {
          why = "POST " + opts_.url + ": HTTP status " + std::to_string(res->status);
          retry = res->status >= 500 || res->status == 429;
        }
      } catch (const std::exception& e) {
        why = "POST " + opts_.url + ": " + e.what();
      }
      if (!retry) break;
    }
    return Unexpected(why);
  }

 private:
  // False when interrupted.
  bool sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return interrupted_; });
  }

  HttpSinkOptions opts_;
  ParsedUrl url_;
  httplib::Client client_;
  httplib::Headers headers_;
  std::string content_type_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace

Expected<std::unique_ptr<Sink>, std::string> make_http_sink(HttpSinkOptions opts) {
  auto url = parse_url(opts.url);
  if (!url)
    return Unexpected("http output: '" + opts.url +
                      "' is not a URL of the form http(s)://host[:port][/path]");
  if (opts.max_retries < 0) opts.max_retries = 0;
  if (opts.client_cert.empty() != opts.client_key.empty())
    return Unexpected(std::string("http output: mTLS needs both client_cert and client_key"));
  for (const auto& f : {opts.client_cert, opts.client_key, opts.ca_file, opts.ca_bundle})
    if (!f.empty() && ::access(f.c_str(), R_OK) != 0)
      return Unexpected("http output: cannot read " + f + ": " + std::strerror(errno));
  return std::unique_ptr<Sink>(std::make_unique<HttpSink>(std::move(opts), std::move(*url)));
}

}  // namespace pg::user::output
