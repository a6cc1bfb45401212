#include "user/engine/transform.h"

#include <cctype>
#include <cstdint>

#include "user/engine/extract.h"
#include "user/path.h"

namespace pg::user::engine {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(n >> (6 * k)) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

Value apply_transformers(const std::vector<policy::Transformer>& transformers, Value val,
                         std::string& scratch) {
  // Transformers apply innermost first; the list is outermost first.
  for (auto it = transformers.rbegin(); it != transformers.rend(); ++it) {
    if (val.is_na()) return val;
    std::string text = val.kind == Value::Kind::Str ? std::string(val.str) : render_value(val);
    switch (*it) {
      case policy::Transformer::ToLower:
        scratch = lower(text);
        break;
      case policy::Transformer::ToUpper:
        scratch = text;
        for (auto& c : scratch) c = char(std::toupper(static_cast<unsigned char>(c)));
        break;
      case policy::Transformer::B64:
        scratch = base64(text);
        break;
      case policy::Transformer::Basename:
        scratch = std::string(path_basename(text));
        break;
      case policy::Transformer::Len:
        val = Value::of_int(int64_t(text.size()));
        continue;
    }
    val = Value::of(scratch);
  }
  return val;
}

}  // namespace pg::user::engine
