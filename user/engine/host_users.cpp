// The host's users and groups as the user.name / group.name fields give them
// (cached per id; the host's database through user/host.h), and the uids a
// set of names stands for, with which the kernel half judges user.name.
#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>

#include "user/engine/extract.h"
#include "user/host.h"

namespace pg::user::engine {

namespace {
template <class Lookup>
std::string_view cached_name(std::unordered_map<uint32_t, std::string>& cache, std::mutex& mu,
                             uint32_t id, Lookup lookup) {
  std::lock_guard lock(mu);
  auto it = cache.find(id);
  if (it == cache.end()) it = cache.emplace(id, lookup(id)).first;
  return it->second;
}
}  // namespace

std::string_view user_name(uint32_t uid) {
  static std::unordered_map<uint32_t, std::string> cache;
  static std::mutex mu;
  return cached_name(cache, mu, uid,
                     [](uint32_t id) { return host_user_name(id).value_or(std::string()); });
}

std::vector<uint32_t> uids_named(const std::vector<std::string>& names) {
  std::set<uint32_t> uids;
  {
    static std::mutex mu;  // getpwent walks one database cursor
    std::lock_guard lock(mu);
    for (const auto& [uid, name] : host_users()) uids.insert(uid);
  }
  // Named as user_name() names them (the first entry of a uid wins), which
  // also caches each answer for the events to come.
  std::vector<uint32_t> out;
  for (uint32_t uid : uids) {
    std::string_view n = user_name(uid);
    if (!n.empty() && std::find(names.begin(), names.end(), n) != names.end()) out.push_back(uid);
  }
  return out;
}

policy::LoweringOptions host_lowering_options() {
  policy::LoweringOptions o;
  o.uids_named = uids_named;
  return o;
}

std::string_view group_name(uint32_t gid) {
  static std::unordered_map<uint32_t, std::string> cache;
  static std::mutex mu;
  return cached_name(cache, mu, gid,
                     [](uint32_t id) { return host_group_name(id).value_or(std::string()); });
}

}  // namespace pg::user::engine
