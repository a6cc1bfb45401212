// Creating the files Peregrine writes (the file output, --record,
// metrics.output_file) so that whoever can write to their directory cannot
// turn them against the daemon.
//
// The daemon runs as root and its files hold every process's command line
// (and, for recordings, environment). So:
//   - mode 0600 unless configured otherwise (applied to new files only);
//   - O_NOFOLLOW: a symlink planted at the path is refused, not followed
//     into /etc/shadow;
//   - a file already there must be a regular file with one link, owned by
//     us: a hard link to a file of someone else's, or a file another user
//     prepared, is refused rather than appended to or truncated. The check
//     is made on the opened descriptor, before any byte is written or the
//     file is truncated.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <string_view>

namespace pg::user::io {

inline constexpr mode_t kDefaultOutputMode = 0600;

enum class OpenMode { Append, Truncate };

// Open (creating it if missing) `path` for writing; the descriptor is
// O_CLOEXEC and, for Append, O_APPEND.
std::expected<int, std::string> open_output_file(const std::string& path, OpenMode how,
                                                 mode_t mode = kDefaultOutputMode);

// Append `line` and a newline as one record: when the disk fills halfway,
// the part written is cut off again, so a reader never sees half a line
// (a later line would otherwise continue it). 0 or the errno.
int append_whole_line(int fd, std::string_view line);

// Text outputs are one alert per line; a newline (or any control
// character) inside a field value, e.g. a command line argument, must not
// start a forged line or move a terminal's cursor. C0 controls and DEL
// become \n, \r, \t or \xHH (the JSON rendering escapes them anyway).
std::string escape_controls(std::string_view text);

}  // namespace pg::user::io
