// Runs the vfioctl binary for command-line tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace vfioctl::test {

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

// Runs `vfioctl ARGS` with LC_ALL=C and colour off; captures both streams.
inline Result vfioctl(const std::vector<std::string>& args) {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path();
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto out = dir / ("vfioctl-out-" + tag);
  auto err = dir / ("vfioctl-err-" + tag);
  std::string cmd = "LC_ALL=C NO_COLOR=1 " + quote(VFIOCTL_BIN);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
  int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// Runs a shell command line; returns its exit status and its output (both
// streams).
inline Result shell(const std::string& cmd) {
  auto out = std::filesystem::temp_directory_path() / ("vfioctl-sh-" + std::to_string(::getpid()));
  int status = std::system((cmd + " >" + quote(out.string()) + " 2>&1").c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  std::filesystem::remove(out);
  return r;
}

inline std::string host(const std::string& name) { return std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name; }

}  // namespace vfioctl::test
