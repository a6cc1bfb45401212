// Falco's renderings of flags, modes, results and numeric arguments
// ("O_WRONLY|O_CREAT", "S_IRUSR", "ENOENT", "SIGKILL"), as the field
// extractors give them to rules and `peregrine trace` prints them.
#pragma once

#include <cstdint>
#include <string>

namespace pg::user {

// "2026-11-28T03:04:05.123456789Z"
std::string format_rfc3339_ns(uint64_t time_ns);
// "O_WRONLY|O_CREAT|O_TRUNC"
std::string format_open_flags(uint64_t flags);
// "SUCCESS" or the errno name ("ENOENT") of a negative return value
std::string format_res(int64_t ret);
// Mode bits as Falco names them ("S_IRUSR|S_IWUSR"; "0" for none).
std::string format_mode(uint32_t mode);
// Numeric arguments as Falco names them: an address family ("AF_PACKET"),
// a ptrace request ("PTRACE_ATTACH"), namespace flags ("CLONE_NEWNET|...").
std::string format_socket_domain(uint32_t domain);
std::string format_ptrace_request(uint64_t request);
std::string format_clone_flags(uint64_t flags);
// A signal number as Falco prints it ("SIGKILL"); the number when unknown.
std::string format_signal(uint64_t sig);
// prctl's option ("PR_SET_NAME"); the number when unknown.
std::string format_prctl_option(uint64_t option);
// A capability set as Falco prints it: "CAP_CHOWN CAP_KILL ...".
std::string format_capabilities(uint64_t caps);
// The flags argument of linkat, unlinkat or renameat2 by name.
std::string format_at_flags(uint16_t pathop_kind, uint32_t flags);

}  // namespace pg::user
