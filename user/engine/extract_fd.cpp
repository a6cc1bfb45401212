// Extractors of fd.* and fs.path.* for syscall events: what the event's
// descriptor is (an open's file, a connect's socket, or a descriptor the
// kernel resolved for dup, accept, sendto, ...). Part of the extractor
// table of extract.cpp.
#include "user/engine/extract_fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <vector>

#include "user/engine/dns.h"
#include "user/path.h"

namespace pg::user::engine {

namespace {

using V = Value;
using K = EventKind;

bool is_open(const Event& e) { return e.kind == K::Open; }
bool is_connect(const Event& e) { return e.kind == K::Connect; }
// As in Falco, an open's fd is a directory when O_DIRECTORY was asked for.
bool opened_dir(const Event& e) { return e.open_flags & O_DIRECTORY; }

// What the event's descriptor is, in Falco's fd.type terms.
// Other socket families are <NA>, as the kernel filter assumes.
enum class FdClass : uint8_t { None, File, Directory, Ipv4, Ipv6, Unix, Pipe, Other };

FdClass family_class(uint16_t family) {
  switch (family) {
    case AF_INET:
      return FdClass::Ipv4;
    case AF_INET6:
      return FdClass::Ipv6;
    case AF_UNIX:
      return FdClass::Unix;
    default:
      return FdClass::Other;
  }
}

FdClass fd_class(const Event& e) {
  switch (e.kind) {
    case K::Open:
      return opened_dir(e) ? FdClass::Directory : FdClass::File;
    case K::Connect:
      return family_class(e.remote.family);
    case K::Args:
      // Resolved by the kernel; mode 0 means the descriptor was not open.
      // (An io_uring request's own socket is resolved with no number: -1.)
      if (e.fd_mode == 0) return FdClass::None;
      switch (e.fd_mode & S_IFMT) {
        case S_IFSOCK:
          return family_class(e.sock_family);
        case S_IFDIR:
          return FdClass::Directory;
        case S_IFIFO:
          return FdClass::Pipe;
        default:
          return FdClass::File;
      }
    default:
      return FdClass::None;
  }
}

bool is_inet(const Event& e) {
  const FdClass c = fd_class(e);
  return c == FdClass::Ipv4 || c == FdClass::Ipv6;
}
// A file with a path the event knows: opens, and resolved descriptors.
bool has_file_path(const Event& e) {
  const FdClass c = fd_class(e);
  return (c == FdClass::File || c == FdClass::Directory) && !e.path.incomplete &&
         !e.path.abs.empty();
}
bool have_local(const Event& e) { return e.local.family == e.remote.family && e.local.port != 0; }
// Falco's server end of a connection: the peer for connect (and for sockets
// this process reached out with); this end for accept, for descriptors of
// accepted connections (the kernel sees their port came from bind()), and
// for bound sockets without a peer (bind, listen).
bool server_is_local(const Event& e) {
  if (e.kind != K::Args) return false;
  const bool unconnected_bound =
      !(e.fd_flags & PG_FDI_DESTINATION) && e.remote.port == 0 && e.local.port != 0;
  return e.args_kind == PG_AK_ACCEPT || e.args_kind == PG_AK_ACCEPT4 ||
         (e.fd_flags & PG_FDI_SERVER) || unconnected_bound;
}
const SockAddr& server_end(const Event& e) { return server_is_local(e) ? e.local : e.remote; }
const SockAddr& client_end(const Event& e) { return server_is_local(e) ? e.remote : e.local; }

V ip_value(const SockAddr& a, std::string& scratch) {
  scratch = a.to_ip();
  return str_or_na(scratch);
}

V fd_num(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  // As in Falco, a failed open has fd.num -1.
  if (is_open(e)) return V::of_int(e.ret >= 0 ? e.ret : -1);
  if (is_connect(e) || (e.kind == K::Args && (e.fd >= 0 || e.fd_mode != 0)))
    return V::of_int(e.fd);
  return V::na();
}
V fd_name(const EventView& v, const FieldArg&, std::string& s) {
  const Event& e = v.evt;
  if (is_open(e)) return e.path.incomplete ? V::na() : str_or_na(e.path.abs);
  switch (fd_class(e)) {
    case FdClass::File:
    case FdClass::Directory:
      return has_file_path(e) ? V::of(e.path.abs) : V::na();
    case FdClass::Unix:
      // connect: the path passed; a resolved descriptor: its bound path,
      // or its peer's (none for unnamed sockets)
      return !e.path.incomplete ? str_or_na(e.path.abs) : V::na();
    case FdClass::Ipv4:
    case FdClass::Ipv6:
      break;
    default:
      return V::na();
  }
  const bool v4 = fd_class(e) == FdClass::Ipv4;
  auto ep = [&](const SockAddr& a) {
    return v4 ? fmt::format("{}:{}", a.to_ip(), a.port) : fmt::format("[{}]:{}", a.to_ip(), a.port);
  };
  // Falco's tuple reads client->server.
  s = have_local(e) ? ep(client_end(e)) + "->" + ep(server_end(e)) : ep(e.remote);
  return V::of(s);
}
V fd_directory(const EventView& v, const FieldArg&, std::string&) {
  if (!has_file_path(v.evt)) return V::na();
  return V::of(path_dirname(v.evt.path.abs));
}
V fd_filename(const EventView& v, const FieldArg&, std::string&) {
  if (!has_file_path(v.evt)) return V::na();
  return V::of(path_basename(v.evt.path.abs));
}
// Falco's fd.type and fd.typechar of each class (<NA> for None and Other).
struct FdNames {
  const char* type;
  const char* typechar;
};
constexpr FdNames kFdNames[] = {
    {nullptr, nullptr}, {"file", "f"}, {"directory", "d"}, {"ipv4", "4"},
    {"ipv6", "6"},      {"unix", "u"}, {"pipe", "p"},      {nullptr, nullptr},
};
static_assert(std::size(kFdNames) == size_t(FdClass::Other) + 1);

V fd_typechar(const EventView& v, const FieldArg&, std::string&) {
  const char* c = kFdNames[size_t(fd_class(v.evt))].typechar;
  return c ? V::of(c) : V::na();
}
V fd_type(const EventView& v, const FieldArg&, std::string&) {
  const char* t = kFdNames[size_t(fd_class(v.evt))].type;
  return t ? V::of(t) : V::na();
}
V fd_sockfamily(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  if (fd_class(e) == FdClass::Unix) return V::of("unix");
  return is_inet(e) ? V::of("ip") : V::na();
}
V fd_l4proto(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  if (!is_inet(e)) return V::na();
  if (e.protocol == IPPROTO_TCP || (e.protocol == 0 && e.sock_type == SOCK_STREAM))
    return V::of("tcp");
  if (e.protocol == IPPROTO_UDP || (e.protocol == 0 && e.sock_type == SOCK_DGRAM))
    return V::of("udp");
  if (e.protocol == IPPROTO_ICMP || e.protocol == IPPROTO_ICMPV6) return V::of("icmp");
  if (e.protocol == 0 && e.sock_type == 0) return V::na();  // the kernel could not say
  return V::of("raw");
}
V fd_sip(const EventView& v, const FieldArg&, std::string& s) {
  return is_inet(v.evt) ? ip_value(server_end(v.evt), s) : V::na();
}
V fd_sport(const EventView& v, const FieldArg&, std::string&) {
  return is_inet(v.evt) ? V::of_int(server_end(v.evt).port) : V::na();
}
V fd_cip(const EventView& v, const FieldArg&, std::string& s) {
  return is_inet(v.evt) && have_local(v.evt) ? ip_value(client_end(v.evt), s) : V::na();
}
V fd_cport(const EventView& v, const FieldArg&, std::string&) {
  return is_inet(v.evt) && have_local(v.evt) ? V::of_int(client_end(v.evt).port) : V::na();
}
// Remote and local ends, whichever side is the server.
V fd_rip(const EventView& v, const FieldArg&, std::string& s) {
  return is_inet(v.evt) ? ip_value(v.evt.remote, s) : V::na();
}
V fd_rport(const EventView& v, const FieldArg&, std::string&) {
  return is_inet(v.evt) ? V::of_int(v.evt.remote.port) : V::na();
}
V fd_lip(const EventView& v, const FieldArg&, std::string& s) {
  return is_inet(v.evt) && have_local(v.evt) ? ip_value(v.evt.local, s) : V::na();
}
V fd_lport(const EventView& v, const FieldArg&, std::string&) {
  return is_inet(v.evt) && have_local(v.evt) ? V::of_int(v.evt.local.port) : V::na();
}
// fd.sip.name, ...: the watched domain names that resolved to that end.
const SockAddr& remote_end(const Event& e) { return e.remote; }
const SockAddr& local_end(const Event& e) { return e.local; }
template <const SockAddr& (*End)(const Event&), bool kNeedsLocal>
V ip_names(const EventView& v, const FieldArg&, std::string&) {
  if (!is_inet(v.evt) || (kNeedsLocal && !have_local(v.evt))) return V::na();
  thread_local std::vector<std::string> names;
  names.clear();
  DnsNames::instance().names_of(End(v.evt).to_ip(), names);
  return names.empty() ? V::na() : V::of_list(&names);
}
// fd.ip and fd.net: either end, so `=`, `!=` and `in` hold when they hold
// for one of them (a list value).
V fd_either_ip(const EventView& v, const FieldArg&, std::string&) {
  thread_local std::vector<std::string> ends;
  ends.clear();
  if (!is_inet(v.evt)) return V::na();
  if (have_local(v.evt)) ends.push_back(client_end(v.evt).to_ip());
  ends.push_back(server_end(v.evt).to_ip());
  std::erase(ends, std::string());
  return ends.empty() ? V::na() : V::of_list(&ends);
}
// fd.port: either end's port (a list, like fd.ip).
V fd_either_port(const EventView& v, const FieldArg&, std::string&) {
  thread_local std::vector<std::string> ports;
  ports.clear();
  if (!is_inet(v.evt)) return V::na();
  if (have_local(v.evt)) ports.push_back(std::to_string(v.evt.local.port));
  ports.push_back(std::to_string(v.evt.remote.port));
  return V::of_list(&ports);
}
V fd_connected(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  if (is_connect(e)) return V::of_bool(e.ret == 0);
  // A resolved IP socket is connected when it has a peer of its own (the
  // kernel reads no peer of a unix socket: unknown).
  if (!is_inet(e)) return V::na();
  return V::of_bool(!(e.fd_flags & PG_FDI_DESTINATION) && e.remote.port != 0);
}
// Falco renames a descriptor when an event gives it a new tuple or path: an
// open or connect names its descriptor; a datagram sent to a destination
// other than the last one on that descriptor renames it (the kernel keeps
// the last destination per process, descriptor and socket).
V fd_name_changed(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  if (is_open(e) || is_connect(e)) return V::of_bool(true);
  if (fd_class(e) == FdClass::None) return V::na();
  return V::of_bool(e.fd_flags & PG_FDI_NAME_CHANGED);
}

V fs_path_name(const EventView& v, const FieldArg& a, std::string& s) { return fd_name(v, a, s); }
// The path as the process passed it, before any normalisation.
V fd_nameraw(const EventView& v, const FieldArg&, std::string&) {
  const Event& e = v.evt;
  if (is_open(e) || e.kind == K::PathOp) return str_or_na(e.path.raw);
  return V::na();
}

struct Entry {
  std::string_view name;
  ExtractFn fn;
};

constexpr Entry kFdExtractors[] = {
    {"fd.num", on_view<fd_num>},
    {"fd.name", on_view<fd_name>},
    {"fd.directory", on_view<fd_directory>},
    {"fd.filename", on_view<fd_filename>},
    {"fd.typechar", on_view<fd_typechar>},
    {"fd.type", on_view<fd_type>},
    {"fd.sockfamily", on_view<fd_sockfamily>},
    {"fd.sip", on_view<fd_sip>},
    {"fd.sport", on_view<fd_sport>},
    {"fd.rip", on_view<fd_rip>},
    {"fd.rport", on_view<fd_rport>},
    {"fd.cip", on_view<fd_cip>},
    {"fd.cport", on_view<fd_cport>},
    {"fd.lip", on_view<fd_lip>},
    {"fd.lport", on_view<fd_lport>},
    {"fd.connected", on_view<fd_connected>},
    {"fd.name_changed", on_view<fd_name_changed>},
    {"fd.ip", on_view<fd_either_ip>},
    {"fd.net", on_view<fd_either_ip>},
    {"fd.port", on_view<fd_either_port>},
    {"fd.snet", on_view<fd_sip>},
    {"fd.cnet", on_view<fd_cip>},
    {"fd.rnet", on_view<fd_rip>},
    {"fd.sip.name", on_view<ip_names<server_end, false>>},
    {"fd.cip.name", on_view<ip_names<client_end, true>>},
    {"fd.rip.name", on_view<ip_names<remote_end, false>>},
    {"fd.lip.name", on_view<ip_names<local_end, true>>},
    {"fd.lnet", on_view<fd_lip>},
    {"fs.path.name", on_view<fs_path_name>},
    {"fd.nameraw", on_view<fd_nameraw>},
    {"fs.path.nameraw", on_view<fd_nameraw>},
    {"fd.l4proto", on_view<fd_l4proto>},
};

}  // namespace

ExtractFn find_fd_extractor(std::string_view name) {
  for (const auto& e : kFdExtractors)
    if (e.name == name) return e.fn;
  return nullptr;
}

}  // namespace pg::user::engine
