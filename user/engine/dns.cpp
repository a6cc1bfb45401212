#include "user/engine/dns.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netdb.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace pg::user::engine {

namespace {

constexpr auto kRefresh = std::chrono::seconds(30);

// Every address `name` resolves to now, as text.
std::vector<std::string> resolve(const std::string& name) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return out;
  for (const addrinfo* a = res; a; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, addr, buf, sizeof(buf))) out.emplace_back(buf);
  }
  freeaddrinfo(res);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The resolver thread starts while the rules load, before the daemon drops
// its capabilities, and needs none: it gives up its own (capabilities are
// per thread), so that drop finds it holding nothing.
void give_up_capabilities() {
  // The bounding set first (that needs CAP_SETPCAP, still held here).
  for (int c = 0; c < 64; ++c) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
  syscall(SYS_capset, &hdr, none);
}

}  // namespace

struct DnsNames::State {
  mutable std::mutex mu;
  mutable std::condition_variable changed;
  std::map<std::string, std::vector<std::string>, std::less<>> addrs;  // name -> addresses
  size_t pending = 0;  // watched names not resolved even once
  bool started = false;

  // The resolver: resolves new names at once, every name each interval.
  // Detached: a lookup may block for the resolver's timeout, and nothing
  // waits for it at exit.
  void run() {
    give_up_capabilities();
    std::unique_lock lock(mu);
    for (;;) {
      std::vector<std::string> names;
      for (const auto& [name, _] : addrs) names.push_back(name);
      const size_t resolving = pending;
      lock.unlock();
      std::vector<std::vector<std::string>> found;
      for (const auto& n : names) found.push_back(resolve(n));
      lock.lock();
      for (size_t i = 0; i < names.size(); ++i) addrs[names[i]] = std::move(found[i]);
      pending -= std::min(pending, resolving);
      changed.notify_all();
      changed.wait_for(lock, kRefresh, [&] { return pending > 0; });
    }
  }
};

DnsNames& DnsNames::instance() {
  static DnsNames* names = new DnsNames();
  return *names;
}

DnsNames::State& DnsNames::state() const {
  static State* s = new State();
  return *s;
}

void DnsNames::watch(std::string_view name) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.addrs.find(name) != s.addrs.end()) return;
  s.addrs.emplace(std::string(name), std::vector<std::string>{});
  ++s.pending;
  if (!s.started) {
    s.started = true;
    std::thread([&s] { s.run(); }).detach();
  }
  s.changed.notify_all();
}

void DnsNames::names_of(std::string_view ip, std::vector<std::string>& out) const {
  State& s = state();
  std::lock_guard lock(s.mu);
  for (const auto& [name, addrs] : s.addrs)
    if (std::binary_search(addrs.begin(), addrs.end(), ip)) out.push_back(name);
}

void DnsNames::wait_resolved() const {
  State& s = state();
  std::unique_lock lock(s.mu);
  s.changed.wait(lock, [&] { return s.pending == 0; });
}

}  // namespace pg::user::engine
