#include "user/container/docker_api.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "user/timestamp.h"

namespace pg::user::container {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
constexpr size_t kMaxResponse = 8u << 20;  // an inspect answer is a few KiB

std::unexpected<ApiError> fail(Failure f, std::string msg) {
  return std::unexpected(ApiError{f, std::move(msg)});
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : int(left.count());
}

std::expected<void, ApiError> connect_unix(Fd& s, const std::string& path,
                                           Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return fail(Failure::Absent, fmt::format("bad socket path '{}'", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return fail(Failure::Absent, fmt::format("socket: {}", std::strerror(errno)));
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EAGAIN && errno != EINPROGRESS)
      return fail(Failure::Absent, fmt::format("connect {}: {}", path, std::strerror(errno)));
    pollfd p{s.fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
      return fail(Failure::Timeout, fmt::format("connect {}: timed out", path));
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail(Failure::Absent, fmt::format("connect {}: {}", path, std::strerror(err)));
  }
  return {};
}

std::expected<void, ApiError> send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(size_t(n));
      continue;
    }
    // Connected, so the runtime is there; it hung up on the request.
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return fail(Failure::BadResponse, fmt::format("send: {}", std::strerror(errno)));
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return fail(Failure::Timeout, "send timed out");
  }
  return {};
}

std::string request_text(std::string_view target) {
  return fmt::format("GET {} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: peregrine\r\n\r\n", target);
}

// Status and headers of a response whose head is complete in `buf`; the
// body starts at *body_at.
struct Head {
  int status = 0;
  bool chunked = false;
};
std::optional<Head> parse_head(std::string_view buf, size_t* body_at) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  *body_at = end + 4;
  std::string_view head = buf.substr(0, end);
  Head h;
  if (!head.starts_with("HTTP/1.") || head.size() < 12) {
    h.status = -1;
    return h;
  }
  auto code = head.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + 3, h.status).ec != std::errc{}) h.status = -1;
  std::string lower(head);
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  h.chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
  return h;
}

// Incremental decoder for a chunked body: feed bytes, take out payload.
class Dechunker {
 public:
  // Appends decoded payload to `out`; false on malformed input.
  bool feed(std::string_view in, std::string& out) {
    buf_.append(in);
    while (true) {
      if (left_ == 0) {
        auto eol = buf_.find("\r\n", pos_);
        if (eol == std::string::npos) break;
        if (need_crlf_) {  // the CRLF that ends the previous chunk
          if (eol != pos_) return false;
          pos_ = eol + 2;
          need_crlf_ = false;
          continue;
        }
        size_t n = 0;
        auto r = std::from_chars(buf_.data() + pos_, buf_.data() + eol, n, 16);
        if (r.ec != std::errc{}) return false;
        pos_ = eol + 2;
        if (n == 0) {
          done_ = true;
          break;
        }
        left_ = n;
      }
      size_t take = std::min(left_, buf_.size() - pos_);
      if (take == 0) break;
      out.append(buf_, pos_, take);
      pos_ += take;
      left_ -= take;
      if (left_ == 0) need_crlf_ = true;
    }
    buf_.erase(0, pos_);
    pos_ = 0;
    return true;
  }
  bool done() const { return done_; }

 private:
  std::string buf_;
  size_t pos_ = 0, left_ = 0;
  bool need_crlf_ = false, done_ = false;
};

std::string str_at(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view failure_name(Failure f) {
  switch (f) {
    case Failure::Absent:
      return "absent";
    case Failure::Timeout:
      return "timeout";
    case Failure::BadResponse:
      return "bad-response";
    case Failure::NotFound:
      return "not-found";
  }
  return "?";
}

ImageRef parse_image_ref(std::string_view image) {
  ImageRef r;
  if (auto at = image.find('@'); at != std::string_view::npos) {
    r.digest = std::string(image.substr(at + 1));
    image = image.substr(0, at);
  }
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(image.substr(colon + 1));
    image = image.substr(0, colon);
  }
  r.repository = std::string(image);
  return r;
}

std::expected<HttpResponse, ApiError> http_get(const std::string& socket_path,
                                               std::string_view target,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Fd s;
  if (auto ok = connect_unix(s, socket_path, deadline); !ok) return std::unexpected(ok.error());
  if (auto ok = send_all(s.fd, request_text(target), deadline); !ok)
    return std::unexpected(ok.error());
  std::string buf;
  char chunk[16384];
  while (true) {
    pollfd p{s.fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r == 0)
      return fail(Failure::Timeout,
                  fmt::format("{}: no complete answer within {} ms", socket_path, timeout.count()));
    if (r < 0 && errno == EINTR) continue;
    ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return fail(Failure::BadResponse, fmt::format("recv: {}", std::strerror(errno)));
    if (n == 0) break;
    buf.append(chunk, size_t(n));
    if (buf.size() > kMaxResponse)
      return fail(Failure::BadResponse, fmt::format("answer larger than {} bytes", kMaxResponse));
  }
  size_t body_at = 0;
  auto head = parse_head(buf, &body_at);
  if (!head || head->status <= 0)
    return fail(Failure::BadResponse, fmt::format("{}: not an HTTP response", socket_path));
  HttpResponse resp{head->status, {}};
  if (head->chunked) {
    Dechunker d;
    if (!d.feed(std::string_view(buf).substr(body_at), resp.body))
      return fail(Failure::BadResponse, "malformed chunked body");
  } else {
    resp.body = buf.substr(body_at);
  }
  return resp;
}

std::expected<void, ApiError> http_stream_lines(
    const std::string& socket_path, std::string_view target,
    std::chrono::milliseconds connect_timeout, std::chrono::milliseconds poll_every,
    const std::function<bool()>& stop, const std::function<void(std::string_view)>& on_line) {
  const auto deadline = Clock::now() + connect_timeout;
  Fd s;
  if (auto ok = connect_unix(s, socket_path, deadline); !ok) return std::unexpected(ok.error());
  if (auto ok = send_all(s.fd, request_text(target), deadline); !ok)
    return std::unexpected(ok.error());
  std::string raw, body;
  std::optional<Head> head;
  Dechunker dechunk;
  char chunk[8192];
  while (!stop()) {
    pollfd p{s.fd, POLLIN, 0};
    int r = ::poll(&p, 1, int(poll_every.count()));
    if (r == 0) {
      if (!head && Clock::now() > deadline) return fail(Failure::Timeout, "no response head");
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return {};  // closed: the caller reconnects
    if (!head) {
      raw.append(chunk, size_t(n));
      size_t body_at = 0;
      head = parse_head(raw, &body_at);
      if (!head) {
        if (raw.size() > 65536) return fail(Failure::BadResponse, "response head too long");
        continue;
      }
      if (head->status != 200)
        return fail(head->status < 0 ? Failure::BadResponse : Failure::NotFound,
                    fmt::format("{} answered HTTP {}", std::string(target), head->status));
      std::string_view rest = std::string_view(raw).substr(body_at);
      if (head->chunked ? !dechunk.feed(rest, body) : (body.append(rest), false))
        return fail(Failure::BadResponse, "malformed chunked body");
    } else if (head->chunked) {
      if (!dechunk.feed(std::string_view(chunk, size_t(n)), body))
        return fail(Failure::BadResponse, "malformed chunked body");
    } else {
      body.append(chunk, size_t(n));
    }
    size_t start = 0;
    for (size_t eol; (eol = body.find('\n', start)) != std::string::npos; start = eol + 1)
      if (eol > start) on_line(std::string_view(body).substr(start, eol - start));
    body.erase(0, start);
    if (body.size() > kMaxResponse) return fail(Failure::BadResponse, "event line too long");
  }
  return {};
}

std::expected<Info, ApiError> parse_container_json(std::string_view body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Failure::BadResponse, "container inspect answer is not a JSON object");
  Info info;
  info.id = str_at(j, "Id");
  if (info.id.empty()) return fail(Failure::BadResponse, "container inspect answer has no Id");
  info.name = str_at(j, "Name");
  if (info.name.starts_with('/')) info.name.erase(0, 1);
  // Go's zero time (year 1) means "not set"; it comes out negative.
  info.created_ns = std::max<int64_t>(0, parse_rfc3339_ns(str_at(j, "Created")).value_or(0));
  info.image_id = str_at(j, "Image");
  if (info.image_id.starts_with("sha256:")) info.image_id.erase(0, 7);
  if (auto c = j.find("Config"); c != j.end() && c->is_object()) {
    info.image = str_at(*c, "Image");
    if (auto l = c->find("Labels"); l != c->end() && l->is_object())
      for (auto it = l->begin(); it != l->end(); ++it)
        if (it.value().is_string())
          info.labels.emplace_back(it.key(), it.value().get<std::string>());
  }
  if (auto h = j.find("HostConfig"); h != j.end() && h->is_object()) {
    if (auto p = h->find("Privileged"); p != h->end() && p->is_boolean()) info.privileged = *p;
    info.host_pid = str_at(*h, "PidMode") == "host";
    info.host_network = str_at(*h, "NetworkMode") == "host";
    info.host_ipc = str_at(*h, "IpcMode") == "host";
  }
  if (auto m = j.find("Mounts"); m != j.end() && m->is_array()) {
    for (const auto& e : *m) {
      if (!e.is_object()) continue;
      Mount mt;
      mt.source = str_at(e, "Source");
      mt.dest = str_at(e, "Destination");
      mt.mode = str_at(e, "Mode");
      if (auto rw = e.find("RW"); rw != e.end() && rw->is_boolean()) mt.rw = *rw;
      mt.propagation = str_at(e, "Propagation");
      info.mounts.push_back(std::move(mt));
    }
  }
  auto ref = parse_image_ref(info.image);
  info.image_repository = ref.repository;
  info.image_tag = ref.tag;
  info.image_digest = ref.digest;
  return info;
}

std::expected<std::string, ApiError> parse_image_digest(std::string_view body,
                                                        std::string_view repository) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Failure::BadResponse, "image inspect answer is not a JSON object");
  std::string first;
  if (auto d = j.find("RepoDigests"); d != j.end() && d->is_array()) {
    for (const auto& e : *d) {
      if (!e.is_string()) continue;
      auto ref = parse_image_ref(e.get<std::string>());
      if (first.empty()) first = ref.digest;
      if (ref.repository == repository) return ref.digest;
    }
  }
  return first;
}

std::expected<std::vector<std::string>, ApiError> parse_container_list(std::string_view body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return fail(Failure::BadResponse, "container list answer is not a JSON array");
  std::vector<std::string> ids;
  for (const auto& e : j)
    if (e.is_object())
      if (auto id = str_at(e, "Id"); !id.empty()) ids.push_back(std::move(id));
  return ids;
}

std::optional<RuntimeEvent> parse_event_line(std::string_view line) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  if (auto t = str_at(j, "Type"); !t.empty() && t != "container") return std::nullopt;
  RuntimeEvent ev;
  ev.action = str_at(j, "Action");
  if (ev.action.empty()) ev.action = str_at(j, "status");
  if (auto a = j.find("Actor"); a != j.end() && a->is_object()) ev.id = str_at(*a, "ID");
  if (ev.id.empty()) ev.id = str_at(j, "id");
  if (ev.id.empty() || ev.action.empty()) return std::nullopt;
  return ev;
}

}  // namespace pg::user::container
