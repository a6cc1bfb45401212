// The identities (device, inode) of the files and directories the kernel
// filter's path tables name, for pg_fino (kern/api/identity.h): a file
// reached through a hard link or a bind mount is then named as the rules
// name it.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "kern/api/identity.h"
#include "policy/filter_tables.h"

namespace pg::user {

using FileIdentities = std::map<std::pair<uint64_t, uint64_t>, std::string>;  // (dev, ino) -> path

// Stat every exact path of the path field (PG_FF_PATH) and the directory
// of every prefix ("/etc/" and "/etc" name /etc; "/etc/pa" names /etc), as
// the host sees them now. Paths that do not exist, that are a key long or
// more, or that are not normalised are left out. When two names share an
// identity (a hard link both are watched as), the shorter, then the
// smaller, wins, so the choice does not depend on rule order.
FileIdentities watched_identities(const policy::FilterTables& t);

// One map entry for `path` ("/" gives the empty entry).
pg_fino_name fino_name(const std::string& path);

}  // namespace pg::user
