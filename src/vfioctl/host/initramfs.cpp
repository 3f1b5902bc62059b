#include "vfioctl/host/initramfs.h"

#include "vfioctl/host/kernel.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

class HostPrograms : public Programs {
 public:
  bool exists(const std::string& name) const override { return program_exists(name); }
  ProcessResult run(const std::vector<std::string>& argv) const override { return run_process(argv); }
};

std::string strip_leading(std::string_view path) {
  while (starts_with(path, "./")) path.remove_prefix(2);
  while (starts_with(path, "/")) path.remove_prefix(1);
  return std::string(path);
}

}  // namespace

const Programs& host_programs() {
  static const HostPrograms programs;
  return programs;
}

bool Initramfs::holds(std::string_view host_path) const {
  std::string p = strip_leading(host_path);
  if (files.count(p)) return true;
  if (starts_with(p, "usr/lib/")) return files.count(p.substr(4)) > 0;
  if (starts_with(p, "lib/")) return files.count("usr/" + p) > 0;
  return false;
}

std::vector<std::string> parse_initramfs_listing(std::string_view output) {
  std::vector<std::string> out;
  for (auto line : split(output, '\n')) {
    line = trim(line);
    if (line.empty()) continue;
    // lsinitrd: "lrwxrwxrwx 1 root root 7 Jan 1 00:00 lib -> usr/lib".
    if (size_t arrow = line.find(" -> "); arrow != std::string_view::npos) line = trim(line.substr(0, arrow));
    auto words = split_ws(line);
    if (words.empty()) continue;
    std::string path = strip_leading(words.back());
    if (!path.empty() && path != ".") out.push_back(std::move(path));
  }
  return out;
}

Initramfs list_initramfs(const Root& root, const std::optional<std::string>& release,
                         const std::optional<std::string>& cmdline_initrd, const Programs& programs) {
  Initramfs ir;
  std::vector<std::string> candidates;
  // systemd-boot's entries name the image ("initrd=\initramfs-linux.img"),
  // relative to the ESP, which is /boot on the hosts that do this.
  if (cmdline_initrd) {
    std::string name(base_name(*cmdline_initrd));
    if (size_t bs = name.rfind('\\'); bs != std::string::npos) name = name.substr(bs + 1);
    if (!name.empty() && name != "." && name != "..") candidates.push_back("/boot/" + name);
  }
  if (release) {
    candidates.push_back("/boot/initrd.img-" + *release);
    candidates.push_back("/boot/initramfs-" + *release + ".img");
  }
  candidates.emplace_back("/boot/initramfs-linux.img");
  for (const auto& c : candidates) {
    if (root.stat(c).kind == Root::FileInfo::Kind::regular) {
      ir.image = c;
      break;
    }
  }
  if (ir.image.empty()) {
    ir.status = Initramfs::Status::no_image;
    ir.detail = join(candidates, ", ");
    return ir;
  }
  for (const char* tool : {"lsinitramfs", "lsinitcpio", "lsinitrd"}) {
    if (programs.exists(tool)) {
      ir.lister = tool;
      break;
    }
  }
  if (ir.lister.empty()) {
    ir.status = Initramfs::Status::no_lister;
    return ir;
  }
  // The image as a real path, its links resolved inside the root.
  std::string real = root.resolve(ir.image).value_or(ir.image);
  auto r = programs.run({ir.lister, (root.dir() / real.substr(1)).string()});
  if (r.exit_code != 0) {
    ir.status = Initramfs::Status::failed;
    auto lines = split(r.output, '\n');
    ir.detail = lines.empty() ? "" : std::string(trim(lines.front()));
    return ir;
  }
  ir.status = Initramfs::Status::listed;
  for (auto& path : parse_initramfs_listing(r.output)) {
    std::string_view base = base_name(path);
    if (size_t ko = base.find(".ko"); ko != std::string_view::npos && ko > 0) {
      ir.modules.insert(module_name(std::string(base.substr(0, ko))));
    }
    ir.files.insert(std::move(path));
  }
  return ir;
}

Initramfs read_initramfs(const Root& root, const std::optional<std::string>& release,
                         const std::optional<std::string>& cmdline_initrd, const Programs& programs) {
  if (!root.is_live()) return {};
  return list_initramfs(root, release, cmdline_initrd, programs);
}

}  // namespace vfioctl
