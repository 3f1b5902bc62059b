#include "tree_writer.h"

#include <fstream>

#include "listing.h"

namespace vfioctl::hostgen {

namespace fs = std::filesystem;

TreeWriter::TreeWriter(fs::path root) : m_root(std::move(root)) {}

void TreeWriter::file(const std::string& path, std::string_view content) const {
  fs::path p = m_root / path;
  dir(p.parent_path().lexically_relative(m_root).string());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw InputError("cannot write " + p.string());
}

void TreeWriter::dir(const std::string& path) const {
  std::error_code ec;
  fs::create_directories(m_root / path, ec);
  if (ec) throw InputError("cannot create " + (m_root / path).string() + ": " + ec.message());
}

void TreeWriter::link(const std::string& path, const std::string& target) const {
  fs::path link_dir = fs::path(path).parent_path();
  fs::path rel = fs::path(target).lexically_relative(link_dir);
  dir(link_dir.string());
  std::error_code ec;
  fs::remove(m_root / path, ec);
  fs::create_symlink(rel, m_root / path, ec);
  if (ec) throw InputError("cannot link " + (m_root / path).string() + ": " + ec.message());
}

}  // namespace vfioctl::hostgen
