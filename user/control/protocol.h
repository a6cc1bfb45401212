// The control protocol spoken on the daemon's Unix socket: one JSON request
// per connection, one JSON response, each a single line.
//
//   → {"version":1,"command":"policy.load","args":{"name":"web","files":["/etc/x.yaml"]}}
//   ← {"version":1,"ok":true,"result":{...}}
//   ← {"version":1,"ok":false,"error":{"code":"rules-invalid","message":"...",
//                                     "diagnostics":[{"file":..,"line":..,"column":..}]}}
//
// Every request is checked against the command's argument schema before
// anything runs: unknown commands, missing, unknown or mistyped arguments
// are refused with a code and change nothing. docs/cli.md lists the
// commands and codes.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "user/live_policy/policy_manager.h"

namespace pg::user::control {

using Json = nlohmann::json;

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxMessageBytes = 1 << 20;

struct Request {
  std::string command;
  Json args = Json::object();
};

// Parse and validate one request line.
std::expected<Request, Error> parse_request(std::string_view line);

Json make_request(const std::string& command, Json args = Json::object());
Json ok_response(Json result);
Json error_response(const Error& e);
Json diagnostic_json(const policy::Diagnostic& d);

// The commands this protocol version knows, for help and errors.
std::string command_names();

}  // namespace pg::user::control
