// setup --for SPEC.toml: what one guest needs in libvirt's qemu.conf.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/host/access.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/setup_plan.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

constexpr const char* kQemuConf = "/etc/libvirt/qemu.conf";
constexpr const char* kTitle = "what guests need from libvirt (vfioctl setup --for)";

}  // namespace

void plan_qemu_conf(const Root& root, const QemuConfRequest& req, Plan& plan) {
  auto before = root.read(kQemuConf);
  if (!before)
    throw Error(ExitCode::refused, fmt::format("--for {}: {} is missing: is libvirt installed? ({})", req.spec,
                                               kQemuConf, req.distro.install("libvirt")));
  // The user's own settings, outside vfioctl's block: one key set twice is
  // a guess about which libvirt reads, so vfioctl does not write it.
  QemuConf theirs = parse_qemu_conf(without_managed_block(*before));
  QemuConf ours_now = parse_qemu_conf(*before);
  std::string body;
  if (req.user) {
    if (theirs.user && *theirs.user != *req.user)
      throw Error(ExitCode::refused,
                  fmt::format("--for {}: {} already sets user = \"{}\"; the guest's sound needs user = \"{}\" (the "
                              "sound server's owner): change it by hand",
                              req.spec, kQemuConf, *theirs.user, *req.user));
    if (!theirs.user) body += fmt::format("user = \"{}\"\n", *req.user);
  }
  if (!req.devices.empty()) {
    if (theirs.cgroup_device_acl) {
      std::vector<std::string> missing;
      for (const auto& d : req.devices) {
        if (std::find(theirs.cgroup_device_acl->begin(), theirs.cgroup_device_acl->end(), d) ==
            theirs.cgroup_device_acl->end())
          missing.push_back(d);
      }
      if (!missing.empty())
        throw Error(ExitCode::refused, fmt::format("--for {}: {} sets cgroup_device_acl itself (line {}); add {} to "
                                                   "that list by hand",
                                                   req.spec, kQemuConf, theirs.acl_line, join(missing, ", ")));
    } else {
      // Keep what an earlier run listed, add this guest's.
      std::vector<std::string> acl = default_cgroup_device_acl();
      if (ours_now.cgroup_device_acl) {
        for (const auto& d : *ours_now.cgroup_device_acl) {
          if (std::find(acl.begin(), acl.end(), d) == acl.end()) acl.push_back(d);
        }
      }
      for (const auto& d : req.devices) {
        if (std::find(acl.begin(), acl.end(), d) == acl.end()) acl.push_back(d);
      }
      body += "cgroup_device_acl = [\n";
      for (const auto& d : acl) body += fmt::format("    \"{}\",\n", d);
      body += "]\n";
    }
  }
  if (body.empty()) {
    plan.notes.push_back(fmt::format("{}: the guest needs nothing in {}", req.spec, kQemuConf));
    return;
  }
  // A user set by an earlier run stays unless this guest says otherwise.
  if (!req.user && ours_now.user && !theirs.user) body = fmt::format("user = \"{}\"\n", *ours_now.user) + body;
  FileChange c;
  c.path = kQemuConf;
  c.before = before;
  c.after = set_managed_block(*before, kTitle, body);
  c.mode.mode = 0600;
  c.why = "what " + req.spec + " needs from libvirt: its QEMU user and device nodes";
  bool changes = c.after != c.before;
  plan.files.push_back(std::move(c));
  if (changes) plan.notes.push_back("restart libvirtd for qemu.conf to take effect (systemctl restart libvirtd)");
}

}  // namespace vfioctl::setup
