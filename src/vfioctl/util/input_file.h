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

// Paths a user names for output (-o, --qemu-script, a snapshot, lint --fix's
// file): the questions commands ask before they write, so that the command
// files themselves touch no file.
// Whether anything is at `path`, a dangling link included.
bool path_exists(const std::string& path);
// Whether `path` is a regular file (after links).
bool is_regular_file_path(const std::string& path);
// Whether `path` is a directory (after links) with nothing in it.
bool is_empty_directory(const std::string& path);
// The directory a new file at `path` goes into ("." for a bare name), when
// it does not exist; nullopt when it does.
std::optional<std::string> missing_directory_of(const std::string& path);
// `path` made absolute against the working directory ("" stays "").
std::string absolute_path(const std::string& path);
// The file a link at `path` ends at, or `path` itself when it is no link.
// Throws Error (exit 3) naming the link when it cannot be resolved.
std::string link_target(const std::string& path);
// This program's own executable (/proc/self/exe), or "" when unknown.
std::string self_executable();

}  // namespace vfioctl
