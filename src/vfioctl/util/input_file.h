// Files a user names on the command line (a guest spec, a domain XML): read
// whole, within a size limit, and only when they are regular files (or "-",
// standard input). A FIFO, a device node or /dev/zero is refused by name,
// never read until killed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace vfioctl {

// The content of `path` ("-": standard input, up to the same limit). Throws
// Error (exit 2) naming the file and what to do when it is missing,
// unreadable, a directory or another kind of file, or larger than `limit`
// bytes. `what` names the file's role in messages ("the spec", "the domain
// XML").
std::string read_input_file(const std::string& path, const char* what, size_t limit);

// The content of a regular file of at most `limit` bytes, or nullopt when it
// is missing, unreadable, not a regular file (never blocks on a FIFO), or
// larger. For files vfioctl reads back from the host (state, /proc, /sys).
std::optional<std::string> read_regular_file(const std::string& path, size_t limit);

}  // namespace vfioctl
