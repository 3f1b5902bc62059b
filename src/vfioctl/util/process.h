// Running external programs (tar, qemu-img, ...) without a shell.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace vfioctl {

struct ProcessResult {
  int exit_code = -1;  // -1: could not start; 128+N: killed by signal N
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with the arguments, waits, captures output.
ProcessResult run_process(const std::vector<std::string>& argv);

// Whether a program is found in PATH.
bool program_exists(const std::string& name);

// Runs `body` in a child process of its own session, detached from the
// caller's terminal, with stdin from /dev/null and stdout and stderr
// appended to `log` (created 0600 when missing); the child exits with what
// `body` returns. Returns the child's pid (throws std::system_error when it
// cannot fork or open the log). Output buffered in this process is flushed
// first, so that the child does not write it twice.
pid_t spawn_detached(const std::function<int()>& body, const std::string& log);

}  // namespace vfioctl
