#include "user/version.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "policy/version.h"

namespace pg::user {

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx, buf, in.gcount());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string version_text(bool json) {
  const std::string engine = policy::kEngineVersion.str();
  if (json) {
    // Falco's versions JSON (its --version with json_output, and the
    // webserver's /versions that falcoctl reads): `engine_version` is the
    // minor number alone, `engine_version_semver` the whole version.
    nlohmann::ordered_json j;
    j["peregrine_version"] = kVersion;
    j["engine_version"] = std::to_string(policy::kEngineVersion.minor);
    j["engine_version_semver"] = engine;
    nlohmann::ordered_json plugins = nlohmann::ordered_json::object();
    for (const char* p : kBuiltinPlugins) plugins[p] = policy::builtin_plugin_version(p)->str();
    j["plugin_versions"] = plugins;
    return j.dump();
  }
  std::string out =
      fmt::format("Peregrine version: {}\nRules engine version: {}\n", kVersion, engine);
  out += "Built-in plugins (fields provided natively):";
  for (const char* p : kBuiltinPlugins)
    out += fmt::format(" {} {}", p, policy::builtin_plugin_version(p)->str());
  return out + "\n";
}

}  // namespace pg::user
