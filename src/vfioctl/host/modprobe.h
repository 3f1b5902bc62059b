// modprobe.d as modprobe reads it: the `options`, `softdep`, `install` and
// `blacklist` lines with the file and line each is written on. setup edits
// them (setup/current.h); doctor judges what they say against the running
// kernel.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

class Root;

// Where a piece of configuration is written: a host path and its 1-based
// line (0: not in a file, e.g. an expansion of an unknown variable).
struct Place {
  std::string path;
  int line = 0;
  std::string str() const;  // "/etc/modprobe.d/vfio.conf:3"
};

// One modprobe.d line naming a module.
struct ModprobeLine {
  enum class Kind { options, softdep, install, blacklist } kind = Kind::options;
  Place at;
  int last_line = 0;   // the last physical line (backslash continuations)
  std::string module;  // '_' form: "vfio_pci"
  std::vector<std::string>
      args;               // options: "ids=10de:1b81,10de:10f0", "disable_vga=1"; softdep: the words after the module
  bool editable = false;  // under /etc/modprobe.d (not a package's file)
  bool ours = false;      // /etc/modprobe.d/vfioctl.conf
};

// Every *.conf of /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d,
// /lib/modprobe.d and /usr/lib/modprobe.d, a name in an earlier directory
// hiding the same name in a later one, in byte order of the names.
struct ModprobeConfig {
  std::vector<std::string> files;
  std::vector<ModprobeLine> lines;  // in the order modprobe reads them
};
ModprobeConfig read_modprobe(const Root& root);

// The value of `name` in an options line's args ("ids" -> "1002:683d,..."),
// the last one when repeated.
std::optional<std::string> option_value(const ModprobeLine& line, std::string_view name);

}  // namespace vfioctl
