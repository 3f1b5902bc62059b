#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>

#include "generate.h"
#include "listing.h"

namespace vfioctl::hostgen {

namespace fs = std::filesystem;

namespace {

// ".NAME.tmp-PID": where the new tree is written before it replaces NAME.
const std::string kTmpInfix = ".tmp-";

std::string tmp_prefix(const fs::path& out) { return "." + out.filename().string() + kTmpInfix; }

// Temporary trees (".NAME.tmp-PID", ".NAME.tmp-PID.old") beside `out` of
// runs that were interrupted: their process is gone.
void remove_stale_temporaries(const fs::path& out) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out.parent_path(), ec)) {
    std::string name = e.path().filename().string();
    auto at = name.rfind(kTmpInfix);
    if (name.rfind('.', 0) != 0 || at == std::string::npos) continue;
    std::string pid_text = name.substr(at + kTmpInfix.size());
    if (pid_text.size() > 4 && pid_text.compare(pid_text.size() - 4, 4, ".old") == 0)
      pid_text.resize(pid_text.size() - 4);
    if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
  }
}

// Puts `fresh` at `out` in one step: a reader sees the old tree or the new
// one, never a mix and never none (when there was one). `fresh` ends up
// holding the old tree, or gone.
void swap_in(const fs::path& fresh, const fs::path& out) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::rename(fresh.c_str(), out.c_str()) == 0) return;  // there was no tree (or an empty directory)
    if (errno != EEXIST && errno != ENOTEMPTY)
      throw InputError(fmt::format("cannot rename {} to {}: {}", fresh.string(), out.string(), std::strerror(errno)));
    if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) == 0) return;
    if (errno == ENOENT) continue;  // removed meanwhile: rename again
    if (errno != EINVAL && errno != ENOSYS)
      throw InputError(
          fmt::format("cannot exchange {} and {}: {}", fresh.string(), out.string(), std::strerror(errno)));
    // A file system without RENAME_EXCHANGE: move the old tree aside first
    // (a short moment without a tree).
    fs::path old = out.parent_path() / (tmp_prefix(out) + std::to_string(::getpid()) + ".old");
    std::error_code ec;
    fs::remove_all(old, ec);
    if (::rename(out.c_str(), old.c_str()) != 0 && errno != ENOENT)
      throw InputError(fmt::format("cannot rename {}: {}", out.string(), std::strerror(errno)));
    if (::rename(fresh.c_str(), out.c_str()) != 0)
      throw InputError(fmt::format("cannot rename {} to {}: {}", fresh.string(), out.string(), std::strerror(errno)));
    fs::rename(old, fresh, ec);
    return;
  }
  throw InputError(fmt::format("cannot put {} in place: it keeps changing", out.string()));
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  char ba[65536], bb[65536];
  while (true) {
    fa.read(ba, sizeof ba);
    fb.read(bb, sizeof bb);
    if (fa.gcount() != fb.gcount() || std::memcmp(ba, bb, static_cast<size_t>(fa.gcount())) != 0) return false;
    if (!fa) return !fb || fb.peek() == std::char_traits<char>::eof();
  }
}

// Whether the trees at `a` and `b` hold the same entries: directories, files
// by content, links by target.
bool same_tree(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  size_t in_a = 0, in_b = 0;
  for (auto it = fs::recursive_directory_iterator(a, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    ++in_a;
    fs::path other = b / it->path().lexically_relative(a);
    auto st = it->symlink_status(ec);
    auto ost = fs::symlink_status(other, ec);
    if (ec || st.type() != ost.type()) return false;
    if (fs::is_symlink(st)) {
      if (fs::read_symlink(it->path(), ec) != fs::read_symlink(other, ec) || ec) return false;
    } else if (fs::is_regular_file(st)) {
      if (!same_file(it->path(), other)) return false;
    }
  }
  if (ec) return false;
  for (auto it = fs::recursive_directory_iterator(b, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    ++in_b;
  return !ec && in_a == in_b;
}

}  // namespace

void replace_host(const HostDescription& desc, const fs::path& out_arg) {
  fs::path out = fs::absolute(out_arg).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) throw InputError("cannot create " + out.parent_path().string() + ": " + ec.message());
  remove_stale_temporaries(out);
  fs::path fresh = out.parent_path() / (tmp_prefix(out) + std::to_string(::getpid()));
  fs::remove_all(fresh, ec);
  try {
    generate_host(desc, fresh);
    if (fs::is_directory(out, ec) && same_tree(fresh, out)) {
      // Nothing changed: the tree stays as it is (readers of it are not
      // disturbed); its stamp, README.md, says it is current.
      fs::last_write_time(out / "README.md", fs::file_time_type::clock::now(), ec);
    } else {
      swap_in(fresh, out);
    }
  } catch (...) {
    fs::remove_all(fresh, ec);
    throw;
  }
  fs::remove_all(fresh, ec);  // the old tree
}

void write_depfile(const fs::path& depfile, const fs::path& target, const std::vector<fs::path>& inputs) {
  // Make syntax: spaces and '#' escaped with a backslash, '$' doubled.
  auto escape = [](const std::string& s) {
    std::string e;
    for (char c : s) {
      if (c == ' ' || c == '#') e += '\\';
      if (c == '$') e += '$';
      e += c;
    }
    return e;
  };
  std::string text = escape(fs::absolute(target).lexically_normal().string()) + ":";
  for (const auto& p : inputs) text += " \\\n  " + escape(fs::absolute(p).lexically_normal().string());
  text += "\n";
  fs::path tmp = depfile;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) throw InputError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, depfile, ec);
  if (ec) throw InputError("cannot write " + depfile.string() + ": " + ec.message());
}

}  // namespace vfioctl::hostgen
