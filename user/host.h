// What the daemon knows about the host it watches, and where it reads it.
//
// In a container (a Kubernetes DaemonSet, `podman run`) the host's files
// are not at their usual places: the host's /proc, /etc and runtime
// sockets are mounted under one prefix, named by HOST_ROOT as Falco names
// it (HOST_ROOT=/host reads /host/proc, /host/etc/passwd, ...). Every host
// path the daemon reads for process, user or container state goes through
// host_path(), so one variable moves them all. Kernel interfaces (/sys:
// BTF, tracefs, bpffs) are the same kernel's wherever they are mounted and
// are not prefixed.
//
// The alert `hostname` is the node's name, which a container does not
// share: PEREGRINE_HOSTNAME, else FALCO_HOSTNAME, else gethostname().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pg::user {

// HOST_ROOT without trailing slashes; "" when unset, empty or "/".
std::string host_root();
// `path` (absolute) under `root`; `root` "" leaves it as it is.
std::string host_path_under(std::string_view root, std::string_view path);
// `path` under host_root().
std::string host_path(std::string_view path);

// The name alerts carry as `hostname` (see the precedence above).
std::string node_hostname();

// The host's user and group databases. With HOST_ROOT set they are read
// from HOST_ROOT/etc/passwd and HOST_ROOT/etc/group (the container's own
// NSS would answer for the image, not the host); without it, through NSS
// as any program does. Uncached: the engine caches the answers.
std::optional<std::string> host_user_name(uint32_t uid);
std::optional<std::string> host_group_name(uint32_t gid);
// Every (uid, name) entry of the user database, in file order.
std::vector<std::pair<uint32_t, std::string>> host_users();

}  // namespace pg::user
