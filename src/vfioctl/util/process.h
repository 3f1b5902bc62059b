// Running external programs (tar, qemu-img, ...) without a shell.
#pragma once

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

}  // namespace vfioctl
