#include "user/control/protocol.h"

#include <fmt/format.h>

#include <array>

namespace pg::user::control {

// The codes as they appear on the wire (docs/cli.md lists them).
std::string_view error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::BadRequest:
      return "bad-request";
    case ErrorCode::UnsupportedVersion:
      return "unsupported-version";
    case ErrorCode::UnknownCommand:
      return "unknown-command";
    case ErrorCode::InvalidArgument:
      return "invalid-argument";
    case ErrorCode::NotFound:
      return "not-found";
    case ErrorCode::RulesInvalid:
      return "rules-invalid";
    case ErrorCode::SwitchFailed:
      return "switch-failed";
    case ErrorCode::PermissionDenied:
      return "permission-denied";
    case ErrorCode::Busy:
      return "busy";
    case ErrorCode::Internal:
      return "internal";
  }
  return "internal";
}

namespace {

enum class ArgType { String, StringList, Bool };

struct ArgSpec {
  const char* name;
  ArgType type;
  bool required;
};

struct CommandSpec {
  const char* name;
  std::vector<ArgSpec> args;
};

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> specs = {
      {"status", {}},
      {"policy.list", {}},
      {"policy.show", {{"name", ArgType::String, true}}},
      {"policy.load",
       {{"name", ArgType::String, true},
        {"files", ArgType::StringList, true},
        {"strict", ArgType::Bool, false}}},
      {"policy.unload", {{"name", ArgType::String, true}}},
      {"policy.reload", {{"name", ArgType::String, false}}},
      // Exactly one of rule / tag; checked below.
      {"rules.enable", {{"rule", ArgType::String, false}, {"tag", ArgType::String, false}}},
      {"rules.disable", {{"rule", ArgType::String, false}, {"tag", ArgType::String, false}}},
  };
  return specs;
}

Error bad(std::string msg) { return Error{ErrorCode::BadRequest, std::move(msg), {}}; }

}  // namespace

std::string command_names() {
  std::string out;
  for (const auto& c : commands()) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

std::expected<Request, Error> parse_request(std::string_view line) {
  if (line.size() > kMaxMessageBytes)
    return std::unexpected(bad(fmt::format("request of {} bytes exceeds the limit of {} bytes",
                                           line.size(), kMaxMessageBytes)));
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded()) return std::unexpected(bad("request is not valid JSON"));
  if (!j.is_object()) return std::unexpected(bad("request must be a JSON object"));
  for (const auto& [key, _] : j.items())
    if (key != "version" && key != "command" && key != "args")
      return std::unexpected(bad(fmt::format("unknown request member '{}'", key)));
  if (!j.contains("version") || !j["version"].is_number_integer())
    return std::unexpected(bad("request needs an integer 'version'"));
  if (j["version"].get<int64_t>() != kProtocolVersion)
    return std::unexpected(Error{ErrorCode::UnsupportedVersion,
                                 fmt::format("protocol version {} is not supported; this daemon "
                                             "speaks version {}",
                                             j["version"].dump(), kProtocolVersion),
                                 {}});
  if (!j.contains("command") || !j["command"].is_string())
    return std::unexpected(bad("request needs a string 'command'"));
  Request r;
  r.command = j["command"].get<std::string>();
  const CommandSpec* spec = nullptr;
  for (const auto& c : commands())
    if (r.command == c.name) spec = &c;
  if (!spec)
    return std::unexpected(
        Error{ErrorCode::UnknownCommand,
              fmt::format("unknown command '{}'; known: {}", r.command, command_names()),
              {}});
  if (j.contains("args")) {
    if (!j["args"].is_object()) return std::unexpected(bad("'args' must be an object"));
    r.args = j["args"];
  }
  for (const auto& [key, value] : r.args.items()) {
    const ArgSpec* a = nullptr;
    for (const auto& s : spec->args)
      if (key == s.name) a = &s;
    if (!a)
      return std::unexpected(
          bad(fmt::format("command '{}' takes no argument '{}'", r.command, key)));
    bool ok = a->type == ArgType::String       ? value.is_string()
              : a->type == ArgType::StringList ? value.is_array()
                                               : value.is_boolean();
    if (ok && a->type == ArgType::StringList)
      for (const auto& v : value) ok = ok && v.is_string() && !v.get<std::string>().empty();
    if (ok && a->type == ArgType::String) ok = !value.get<std::string>().empty();
    if (!ok)
      return std::unexpected(
          bad(fmt::format("argument '{}' of '{}' must be {}", key, r.command,
                          a->type == ArgType::String       ? "a non-empty string"
                          : a->type == ArgType::StringList ? "a list of non-empty strings"
                                                           : "true or false")));
  }
  for (const auto& s : spec->args)
    if (s.required && !r.args.contains(s.name))
      return std::unexpected(
          bad(fmt::format("command '{}' needs the argument '{}'", r.command, s.name)));
  if (r.command.starts_with("rules.") && r.args.contains("rule") == r.args.contains("tag"))
    return std::unexpected(
        bad(fmt::format("command '{}' needs exactly one of 'rule' or 'tag'", r.command)));
  return r;
}

Json make_request(const std::string& command, Json args) {
  return Json{{"version", kProtocolVersion}, {"command", command}, {"args", std::move(args)}};
}

Json ok_response(Json result) {
  return Json{{"version", kProtocolVersion}, {"ok", true}, {"result", std::move(result)}};
}

Json diagnostic_json(const policy::Diagnostic& d) {
  Json j{{"code", policy::code_name(d.code)},
         {"severity", d.is_error() ? "error" : "warning"},
         {"item_type", policy::item_type_name(d.item_type)},
         {"item_name", d.item_name},
         {"file", d.loc.file},
         {"line", d.loc.line},
         {"column", d.loc.col},
         {"message", d.message},
         {"text", policy::render_text(d)}};
  return j;
}

Json error_response(const Error& e) {
  Json err{{"code", error_code_name(e.code)}, {"message", e.message}};
  if (!e.diagnostics.empty()) {
    err["diagnostics"] = Json::array();
    for (const auto& d : e.diagnostics) err["diagnostics"].push_back(diagnostic_json(d));
  }
  return Json{{"version", kProtocolVersion}, {"ok", false}, {"error", std::move(err)}};
}

}  // namespace pg::user::control
