// What the fuzz targets share: a check that aborts (libFuzzer saves the input),
// an input split into parts, a file's content, and a scratch copy of a
// fixture root.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl::fuzz {

// An invariant broken: libFuzzer reports the abort and keeps the input.
inline void check(bool ok) {
  if (!ok) std::abort();
}

// The parts of an input between separator lines ("\n--8<--\n").
inline constexpr std::string_view kSeparator = "\n--8<--\n";

inline std::vector<std::string> split_parts(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (;;) {
    size_t at = in.find(kSeparator);
    if (at == std::string_view::npos) {
      parts.emplace_back(in);
      return parts;
    }
    parts.emplace_back(in.substr(0, at));
    in.remove_prefix(at + kSeparator.size());
  }
}

// A file's whole content, or nullopt when it cannot be opened.
inline std::optional<std::string> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory made once per process under $TMPDIR (tests/fuzz/run points it
// into the build directory), holding a copy of each source tree laid over
// the previous one, links kept as links; removed at exit.
inline std::filesystem::path scratch_root(const std::vector<std::filesystem::path>& sources) {
  namespace fs = std::filesystem;
  static std::vector<fs::path> made;
  std::string pattern = (fs::temp_directory_path() / "vfioctl-fuzz-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) std::abort();
  fs::path dir = pattern;
  for (const auto& s : sources)
    fs::copy(s, dir,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
  if (made.empty()) {
    std::atexit([] {
      std::error_code ec;
      for (const auto& d : made) fs::remove_all(d, ec);
    });
  }
  made.push_back(dir);
  return dir;
}

}  // namespace vfioctl::fuzz
