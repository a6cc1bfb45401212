// Preconditions of the kernel side: privileges, BTF, tracefs and bpffs.
#pragma once

#include <expected>
#include <string>

namespace pg::user {

// Checks root/CAP_BPF and BTF, and mounts tracefs and bpffs where they are
// absent. Errors say what is missing and how to fix it.
std::expected<void, std::string> prepare_system();

}  // namespace pg::user
