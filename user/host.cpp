#include "user/host.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace pg::user {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File open_host_file(const char* path) { return File(std::fopen(host_path(path).c_str(), "re")); }

// Walks a passwd-format file (HOST_ROOT set) and calls f(uid, name) per
// entry until f returns true.
template <class F>
void each_passwd_entry(F f) {
  File in = open_host_file("/etc/passwd");
  if (!in) return;
  passwd pw{}, *res = nullptr;
  char buf[4096];
  while (fgetpwent_r(in.get(), &pw, buf, sizeof buf, &res) == 0 && res)
    if (f(uint32_t(pw.pw_uid), pw.pw_name)) return;
}

}  // namespace

std::string host_root() {
  std::string r = env_or_empty("HOST_ROOT");
  while (!r.empty() && r.back() == '/') r.pop_back();
  return r;
}

std::string host_path_under(std::string_view root, std::string_view path) {
  std::string out(root);
  if (!out.empty() && !path.starts_with('/')) out += '/';
  out += path;
  return out;
}

std::string host_path(std::string_view path) { return host_path_under(host_root(), path); }

std::string node_hostname() {
  for (const char* var : {"PEREGRINE_HOSTNAME", "FALCO_HOSTNAME"})
    if (std::string v = env_or_empty(var); !v.empty()) return v;
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

std::optional<std::string> host_user_name(uint32_t uid) {
  if (host_root().empty()) {
    passwd pw{}, *res = nullptr;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return std::string(pw.pw_name);
    return std::nullopt;
  }
  std::optional<std::string> found;
  each_passwd_entry([&](uint32_t id, const char* name) {
    if (id != uid) return false;
    found = name;
    return true;
  });
  return found;
}

std::optional<std::string> host_group_name(uint32_t gid) {
  group gr{}, *res = nullptr;
  char buf[4096];
  if (host_root().empty()) {
    if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) return std::string(gr.gr_name);
    return std::nullopt;
  }
  File in = open_host_file("/etc/group");
  if (!in) return std::nullopt;
  while (fgetgrent_r(in.get(), &gr, buf, sizeof buf, &res) == 0 && res)
    if (uint32_t(gr.gr_gid) == gid) return std::string(gr.gr_name);
  return std::nullopt;
}

std::vector<std::pair<uint32_t, std::string>> host_users() {
  std::vector<std::pair<uint32_t, std::string>> out;
  if (host_root().empty()) {
    setpwent();
    while (const passwd* pw = getpwent()) out.emplace_back(uint32_t(pw->pw_uid), pw->pw_name);
    endpwent();
    return out;
  }
  each_passwd_entry([&](uint32_t id, const char* name) {
    out.emplace_back(id, name);
    return false;
  });
  return out;
}

}  // namespace pg::user
