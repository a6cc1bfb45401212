#include "user/file_identity.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>

#include "user/path.h"

namespace pg::user {

namespace {

void add(FileIdentities& out, const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() >= PG_FINO_PATH - 1) return;
  if (normalize_path(path) != path) return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  const std::pair<uint64_t, uint64_t> key{pg_kernel_dev(major(st.st_dev), minor(st.st_dev)),
                                          uint64_t(st.st_ino)};
  auto [it, fresh] = out.emplace(key, path);
  if (!fresh &&
      (path.size() < it->second.size() || (path.size() == it->second.size() && path < it->second)))
    it->second = path;
}

}  // namespace

FileIdentities watched_identities(const policy::FilterTables& t) {
  FileIdentities out;
  for (const auto& [key, slots] : t.paths) {
    const auto& [field, bytes] = key;
    if (field != PG_FF_PATH || bytes.empty()) continue;
    if (bytes.back() == '\0') {  // an exact path
      add(out, bytes.substr(0, bytes.size() - 1));
      continue;
    }
    // A prefix: the directory it starts with.
    std::string dir = bytes;
    if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      add(out, dir);
    } else {
      add(out, std::string(path_dirname(dir)));
    }
  }
  return out;
}

pg_fino_name fino_name(const std::string& path) {
  pg_fino_name n{};
  if (path == "/" || path.size() >= PG_FINO_PATH) return n;
  std::memcpy(n.path, path.data(), path.size());
  n.len = uint32_t(path.size());
  // Components leaf first, each ending with a NUL.
  size_t at = 0;
  for (size_t end = path.size(); end > 0;) {
    size_t slash = path.rfind('/', end - 1);
    size_t start = slash + 1;
    std::memcpy(n.comps + at, path.data() + start, end - start);
    at += end - start;
    n.comps[at++] = 0;
    if (slash == 0) break;
    end = slash;
  }
  return n;
}

}  // namespace pg::user
