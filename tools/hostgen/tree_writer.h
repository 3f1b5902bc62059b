// Writes files, directories and relative symbolic links under one output
// directory, failing loudly. Paths are host paths ("sys/devices/...").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vfioctl::hostgen {

class TreeWriter {
 public:
  // Writes under `root`, which must exist.
  explicit TreeWriter(std::filesystem::path root);

  // Writes a file (parents created); replaces an earlier write.
  void file(const std::string& path, std::string_view content) const;
  // Creates a directory and its parents.
  void dir(const std::string& path) const;
  // Creates a link at `path` pointing at host path `target`, made relative
  // to the link's directory the way sysfs does ("../../../devices/...").
  void link(const std::string& path, const std::string& target) const;

  const std::filesystem::path& root() const { return m_root; }

 private:
  std::filesystem::path m_root;
};

}  // namespace vfioctl::hostgen
