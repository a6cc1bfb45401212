// libFuzzer target: one control-socket request line (user/control/protocol.*)
// through validation, and the response the daemon would send back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "user/control/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::user::control;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto req = parse_request(line);
  Json reply = req ? ok_response(req->args) : error_response(req.error());
  (void)reply.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (req) (void)make_request(req->command, req->args).dump();
  return 0;
}
