// Path text handling shared by the decoder and the process table: lexical
// normalisation (as Falco does for fd.name) and the dentry-walk format the
// kernel emits.
#pragma once

#include <string>
#include <string_view>

namespace pg::user {

// Collapse "//", "/./" and "dir/.." lexically; keep a leading "/"; never go
// above the root ("/.." is "/"). A relative input stays relative.
std::string normalize_path(std::string_view path);

// `path` if absolute, else `base`/`path`; normalised either way.
std::string resolve_path(std::string_view base, std::string_view path);

// Turn a kernel dentry walk ("c\0b\0a\0", leaf first) into "/a/b/c".
std::string path_from_components(std::string_view leaf_first);

// The directory part and the last component of a normalised absolute path,
// as fd.directory and fd.filename report them ("/" and "" for "/").
std::string_view path_dirname(std::string_view path);
std::string_view path_basename(std::string_view path);

}  // namespace pg::user
