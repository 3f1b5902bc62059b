// What the initramfs of the running kernel holds, listed by the host's own
// tool (lsinitramfs, lsinitcpio or lsinitrd). Only the live host has images
// to list: a snapshot or fixture carries none.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/util/process.h"

namespace vfioctl {

class Root;

struct Initramfs {
  enum class Status {
    listed,     // `files` and `modules` are the image's
    not_live,   // a host tree (--root): no images to list
    no_image,   // none of the usual names for this kernel under /boot
    no_lister,  // none of the listing tools is installed
    failed,     // the tool ran and failed; `detail` has its first line
  } status = Status::not_live;
  std::string image;   // "/boot/initrd.img-6.1.0-18-amd64"
  std::string lister;  // "lsinitramfs"
  std::string detail;
  std::set<std::string> files;    // paths inside the image, without a leading "/" or "./"
  std::set<std::string> modules;  // '_' names of the *.ko* files in it

  bool listed() const { return status == Status::listed; }
  // Whether the image holds a host path ("/etc/modprobe.d/vfio.conf"); the
  // /lib and /usr/lib forms count alike (merged /usr).
  bool holds(std::string_view host_path) const;
};

// Runs the programs a reader needs; tests put a fake underneath.
class Programs {
 public:
  virtual ~Programs() = default;
  virtual bool exists(const std::string& name) const = 0;
  virtual ProcessResult run(const std::vector<std::string>& argv) const = 0;
};
// The programs of this host (PATH).
const Programs& host_programs();

// The paths a lister printed: one per line, as lsinitramfs and lsinitcpio
// print them, or the last column of lsinitrd's `ls -l` lines (a link's
// target left out); lsinitrd's header lines name no path with '/' and are
// kept as plain words, which match no path doctor asks for.
std::vector<std::string> parse_initramfs_listing(std::string_view output);

// Lists the image of kernel `release` (/boot/initrd.img-RELEASE,
// /boot/initramfs-RELEASE.img, /boot/initramfs-linux.img, or the file the
// command line's initrd= names under /boot) with the first tool found.
Initramfs list_initramfs(const Root& root, const std::optional<std::string>& release,
                         const std::optional<std::string>& cmdline_initrd, const Programs& programs);

// The same on the live host; Status::not_live on any other root.
Initramfs read_initramfs(const Root& root, const std::optional<std::string>& release,
                         const std::optional<std::string>& cmdline_initrd, const Programs& programs = host_programs());

}  // namespace vfioctl
