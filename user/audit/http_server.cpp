#include "user/audit/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace pg::user::audit {

using Clock = std::chrono::steady_clock;

struct HttpServer::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;  // bytes read and not yet consumed
  std::thread thread;
  std::atomic<bool> done{false};
};

namespace {

// Why a connection is given up: the status to answer with (0: none, just
// close) and a message.
struct Stop {
  int status;
  std::string message;
};

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : int(std::min<int64_t>(left.count(), 1 << 30));
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const int ms = ms_left(deadline);
    if (ms == 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

// Read some bytes into c.in before the deadline. >0: bytes, 0: the peer
// closed, -1: error, -2: deadline passed.
ssize_t read_some(HttpServer::Conn& c, Clock::time_point deadline);

std::string_view reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

std::string error_json(std::string_view message) {
  // Our own text only; never bytes the client sent unescaped.
  std::string out = "{\"error\":\"";
  for (unsigned char ch : message) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(char(ch));
    } else if (ch < 0x20 || ch >= 0x7f) {
      out += fmt::format("\\u{:04x}", ch < 0x80 ? ch : 0xfffd);
    } else {
      out.push_back(char(ch));
    }
  }
  return out + "\"}\n";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return "";
}

namespace {

ssize_t read_some(HttpServer::Conn& c, Clock::time_point deadline) {
  char buf[65536];
  while (true) {
    if (c.ssl) {
      ERR_clear_error();
      int n = SSL_read(c.ssl, buf, sizeof(buf));
      if (n > 0) {
        c.in.append(buf, size_t(n));
        return n;
      }
      int err = SSL_get_error(c.ssl, n);
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          return ms_left(deadline) == 0 ? -2 : -1;
        }
        continue;
      }
      return -1;
    }
    if (!wait_fd(c.fd, POLLIN, deadline)) return ms_left(deadline) == 0 ? -2 : -1;
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n > 0) c.in.append(buf, size_t(n));
    return n < 0 ? -1 : n;
  }
}

bool write_all(HttpServer::Conn& c, std::string_view s, Clock::time_point deadline) {
  while (!s.empty()) {
    if (c.ssl) {
      ERR_clear_error();
      int n = SSL_write(c.ssl, s.data(), int(std::min<size_t>(s.size(), 1 << 20)));
      if (n > 0) {
        s.remove_prefix(size_t(n));
        continue;
      }
      int err = SSL_get_error(c.ssl, n);
      if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) &&
          wait_fd(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
      return false;
    }
    ssize_t n = ::send(c.fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_fd(c.fd, POLLOUT, deadline)) return false;
      continue;
    }
    if (n <= 0) return false;
    s.remove_prefix(size_t(n));
  }
  return true;
}

bool send_response(HttpServer::Conn& c, int status, std::string_view body, bool keep_alive) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: {}\r\n\r\n",
      status, reason(status), body.size(), keep_alive ? "keep-alive" : "close");
  out.append(body);
  return write_all(c, out, Clock::now() + std::chrono::seconds(5));
}

// Parse the head (request line and headers, without the final CRLF CRLF).
std::expected<HttpRequest, std::string> parse_head(std::string_view head) {
  HttpRequest r;
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return std::unexpected("bad request line");
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const auto version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return std::unexpected("only HTTP/1.0 and HTTP/1.1 are spoken here");
  if (r.method.empty() || r.target.empty() || r.target.front() != '/')
    return std::unexpected("bad request line");
  r.headers.emplace_back(":version", std::string(version));
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return std::unexpected("a header line without a name");
    if (r.headers.size() > 100) return std::unexpected("more than 100 headers");
    r.headers.emplace_back(lower(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return r;
}

}  // namespace

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::start(
    const std::string& address, int port, const std::string& tls_cert, const std::string& tls_key,
    HttpLimits limits, Handler handler, OnRefusal on_refusal) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->limits_ = limits;
  s->handler_ = std::move(handler);
  s->on_refusal_ = std::move(on_refusal);
  if (!tls_cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, tls_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      if (ctx) SSL_CTX_free(ctx);
      return std::unexpected(fmt::format(
          "cannot load the TLS certificate {} and key {} (both must be readable PEM files and "
          "belong together)",
          tls_cert, tls_key));
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    s->ssl_ctx_ = ctx;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(port));
    len = sizeof(*v6);
  } else {
    return std::unexpected(fmt::format("'{}' is not an IPv4 or IPv6 address", address));
  }
  s->listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s->listen_fd_ < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
  int yes = 1;
  // SO_REUSEADDR only (not SO_REUSEPORT: a second daemon must not silently
  // take half the events).
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(s->listen_fd_, 128) != 0)
    return std::unexpected(
        fmt::format("cannot listen on {}:{}: {}", address, port, std::strerror(errno)));
  len = sizeof(ss);
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  s->port_ = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  s->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->wake_fd_ < 0) return std::unexpected(std::string("eventfd: ") + std::strerror(errno));
  s->accept_thread_ = std::thread([p = s.get()] { p->accept_loop(); });
  return s;
}

HttpServer::~HttpServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

void HttpServer::stop() {
  if (stop_.exchange(true)) return;
  uint64_t one = 1;
  if (wake_fd_ >= 0 && ::write(wake_fd_, &one, sizeof(one)) < 0) {
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  reap(true);
}

void HttpServer::accept_loop() {
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int r = ::poll(fds, 2, 1000);
    reap(false);
    if (stop_.load()) break;
    if (r <= 0 || !(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    if (open_.load() >= limits_.max_connections) {
      // Told at once, not queued behind the connections already open.
      stats_.over_limit.fetch_add(1, std::memory_order_relaxed);
      static const std::string busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Content-Length: 53\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
          "{\"error\":\"too many open connections; retry shortly\"}\n";
      ssize_t n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)n;
      ::close(fd);
      if (on_refusal_) on_refusal_(503, "");
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    Conn* raw = c.get();
    open_.fetch_add(1);
    {
      std::lock_guard lock(mu_);
      conns_.push_back(std::move(c));
    }
    raw->thread = std::thread([this, raw] {
      serve(*raw);
      linger(*raw);
      open_.fetch_sub(1);
      raw->done.store(true);
    });
  }
}

void HttpServer::reap(bool all) {
  std::list<std::unique_ptr<Conn>> gone;
  {
    std::lock_guard lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done.load()) {
        if (all && !(*it)->done.load()) ::shutdown((*it)->fd, SHUT_RDWR);
        gone.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : gone) {
    if (c->thread.joinable()) c->thread.join();
    if (c->ssl) SSL_free(c->ssl);
    ::close(c->fd);
  }
}

// Closing with unread input makes the kernel send a reset, which can
// destroy the answer just sent (a 413 to a client still uploading). Close
// our side for writing and discard what still comes, briefly.
void HttpServer::linger(Conn& c) {
  if (stop_.load()) return;
  if (c.ssl) SSL_shutdown(c.ssl);
  ::shutdown(c.fd, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  size_t discarded = 0;
  while (discarded < (8u << 20)) {
    c.in.clear();
    ssize_t n = read_some(c, deadline);
    if (n <= 0) break;
    discarded += size_t(n);
  }
}

void HttpServer::serve(Conn& c) {
  auto refuse = [&](int status, const std::string& message, const std::string& target,
                    std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
    if (on_refusal_) on_refusal_(status, target);
    send_response(c, status, error_json(message), false);
  };
  if (ssl_ctx_) {
    c.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1) return;
    const auto deadline = Clock::now() + limits_.head_timeout;
    while (true) {
      ERR_clear_error();
      int r = SSL_accept(c.ssl);
      if (r == 1) break;
      int err = SSL_get_error(c.ssl, r);
      if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) &&
          wait_fd(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
      return;  // no handshake, no HTTP to answer with
    }
  }
  while (!stop_.load()) {
    // The head: the first byte within the idle limit, all of it within the
    // head deadline counted from then.
    Clock::time_point deadline = Clock::now() + limits_.idle_timeout;
    bool started = !c.in.empty();
    if (started) deadline = Clock::now() + limits_.head_timeout;
    size_t head_end;
    while ((head_end = c.in.find("\r\n\r\n")) == std::string::npos) {
      if (c.in.size() > limits_.max_head_bytes)
        return refuse(431, fmt::format("request head over {} bytes", limits_.max_head_bytes), "",
                      &stats_.too_large);
      ssize_t n = read_some(c, deadline);
      if (n == -2 && started)
        return refuse(408, "request head not received in time", "", &stats_.timed_out);
      if (n <= 0) return;  // idle keep-alive connection closed, or gone
      if (!started) {
        started = true;
        deadline = Clock::now() + limits_.head_timeout;
      }
    }
    if (head_end > limits_.max_head_bytes)
      return refuse(431, fmt::format("request head over {} bytes", limits_.max_head_bytes), "",
                    &stats_.too_large);
    auto req = parse_head(std::string_view(c.in).substr(0, head_end));
    c.in.erase(0, head_end + 4);
    if (!req) return refuse(400, req.error(), "", &stats_.malformed);
    const bool http11 = req->header(":version") == "HTTP/1.1";
    const std::string connection = lower(req->header("connection"));
    const bool keep_alive = http11 && connection != "close";
    const std::string te = lower(req->header("transfer-encoding"));
    const std::string ce = lower(req->header("content-encoding"));
    const std::string cl = req->header("content-length");
    if (!ce.empty() && ce != "identity")
      return refuse(415, "Content-Encoding is not supported; send the body uncompressed",
                    req->target, nullptr);
    const bool chunked = !te.empty();
    if (chunked && te != "chunked")
      return refuse(501, "only the chunked transfer coding is supported", req->target,
                    &stats_.malformed);
    size_t length = 0;
    if (!chunked && !cl.empty()) {
      auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
      if (ec != std::errc() || p != cl.data() + cl.size())
        return refuse(400, "bad Content-Length", req->target, &stats_.malformed);
    }
    if (!chunked && length > limits_.max_body_bytes)
      return refuse(413, fmt::format("body over the {} byte limit", limits_.max_body_bytes),
                    req->target, &stats_.too_large);
    if (lower(req->header("expect")) == "100-continue" &&
        !write_all(c, "HTTP/1.1 100 Continue\r\n\r\n", Clock::now() + std::chrono::seconds(5)))
      return;
    // The body, within its own deadline and limit.
    deadline = Clock::now() + limits_.body_timeout;
    auto more = [&]() -> int {  // 0 ok, else the refusal already sent
      ssize_t n = read_some(c, deadline);
      if (n > 0) return 0;
      if (n == -2) refuse(408, "request body not received in time", req->target, &stats_.timed_out);
      return 1;
    };
    if (!chunked) {
      while (c.in.size() < length)
        if (more()) return;
      req->body = c.in.substr(0, length);
      c.in.erase(0, length);
    } else {
      while (true) {
        size_t eol;
        while ((eol = c.in.find("\r\n")) == std::string::npos) {
          if (c.in.size() > 1024)
            return refuse(400, "bad chunk header", req->target, &stats_.malformed);
          if (more()) return;
        }
        std::string_view size_text = std::string_view(c.in).substr(0, eol);
        size_text = size_text.substr(0, size_text.find(';'));
        size_text = trim(size_text);
        size_t size = 0;
        auto [p, ec] =
            std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (ec != std::errc() || p != size_text.data() + size_text.size() || size_text.empty())
          return refuse(400, "bad chunk size", req->target, &stats_.malformed);
        c.in.erase(0, eol + 2);
        if (size == 0) {
          // Trailers (ignored), up to the empty line.
          while (true) {
            while ((eol = c.in.find("\r\n")) == std::string::npos) {
              if (c.in.size() > limits_.max_head_bytes)
                return refuse(431, "trailers too large", req->target, &stats_.too_large);
              if (more()) return;
            }
            const bool last = eol == 0;
            c.in.erase(0, eol + 2);
            if (last) break;
          }
          break;
        }
        // Counted as it arrives: the limit holds for chunked bodies too.
        if (size > limits_.max_body_bytes - std::min(req->body.size(), limits_.max_body_bytes))
          return refuse(413, fmt::format("body over the {} byte limit", limits_.max_body_bytes),
                        req->target, &stats_.too_large);
        while (c.in.size() < size + 2)
          if (more()) return;
        if (c.in.compare(size, 2, "\r\n") != 0)
          return refuse(400, "chunk not followed by CRLF", req->target, &stats_.malformed);
        req->body.append(c.in, 0, size);
        c.in.erase(0, size + 2);
      }
    }
    HttpResponse res;
    try {
      res = handler_(*req);
    } catch (const std::exception& e) {
      // Logged here; the client gets no internal text.
      spdlog::error("k8s_audit: handling a request failed: {}", e.what());
      res = {500, error_json("internal error; see the daemon's log")};
    }
    if (!send_response(c, res.status, res.body, keep_alive) || !keep_alive) return;
  }
}

}  // namespace pg::user::audit
