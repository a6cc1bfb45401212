// The Docker Engine API as Docker and Podman (`podman system service`)
// serve it on a Unix socket: a minimal HTTP/1.0 client with deadlines, and
// the parsers for the answers Peregrine uses. HTTP/1.0 keeps responses
// unchunked and close-delimited, which is all a one-shot request or the
// /events stream needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "user/container/info.h"

namespace pg::user::container {

// Why a runtime could not answer; each is counted separately.
enum class Failure : uint8_t { Absent, Timeout, BadResponse, NotFound };
std::string_view failure_name(Failure f);

struct ApiError {
  Failure kind;
  std::string message;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET `target` from the API on `socket_path`; the whole exchange (connect,
// send, read to EOF) must finish within `timeout`.
std::expected<HttpResponse, ApiError> http_get(const std::string& socket_path,
                                               std::string_view target,
                                               std::chrono::milliseconds timeout);

// GET a streaming `target` and call `on_line` for each newline-terminated
// line of the body until the peer closes, `stop()` turns true (checked at
// least every `poll`), or an error. Returns why it ended.
std::expected<void, ApiError> http_stream_lines(
    const std::string& socket_path, std::string_view target,
    std::chrono::milliseconds connect_timeout, std::chrono::milliseconds poll,
    const std::function<bool()>& stop, const std::function<void(std::string_view)>& on_line);

// GET /containers/<id>/json → Info (without the image digest).
std::expected<Info, ApiError> parse_container_json(std::string_view body);
// GET /images/<id>/json → the digest of `repository` among RepoDigests
// ("sha256:…"), else the first one; "" when there is none.
std::expected<std::string, ApiError> parse_image_digest(std::string_view body,
                                                        std::string_view repository);
// GET /containers/json → the ids of the running containers.
std::expected<std::vector<std::string>, ApiError> parse_container_list(std::string_view body);

// One /events line: the container it is about and what happened.
struct RuntimeEvent {
  std::string id;
  std::string action;  // "create", "start", "die", "destroy", "remove", ...
};
std::optional<RuntimeEvent> parse_event_line(std::string_view line);

}  // namespace pg::user::container
