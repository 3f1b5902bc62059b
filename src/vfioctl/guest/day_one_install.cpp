// The install media (docs/design.md, "Day one of a guest"): the installer and
// the drivers ISO as SATA CD-ROMs, and the steps Windows Setup needs with
// virtio disks and evdev input.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::day_one {

namespace {

// The virtio-win folder for an OS id: "w11", "2k22", ...
std::string virtio_win_os_dir(const std::string& os) {
  if (starts_with(os, "win2k")) {
    std::string v = os.substr(3);  // "2k22", "2k12r2"
    if (ends_with(v, "r2")) v = v.substr(0, v.size() - 2) + "R2";
    return v;
  }
  if (starts_with(os, "win")) return "w" + os.substr(3);
  return os;
}

// Windows has no virtio-input driver of its own: until it has one, it reads
// the evdev keyboard and mouse through the emulated PS/2 devices.
std::string input_driver_step(const GuestPlan& plan, const std::optional<std::string>& drivers) {
  std::string folder = fmt::format("vioinput\\{}\\amd64", virtio_win_os_dir(plan.spec.os));
  if (drivers)
    return fmt::format(
        "install the virtio-input driver for the evdev keyboard and mouse: folder {} on the virtio-win CD-ROM "
        "({}; virtio-win-guest-tools.exe installs it too); without it Windows reads them through the emulated "
        "PS/2 devices",
        folder, *drivers);
  return fmt::format(
      "install the virtio-input driver for the evdev keyboard and mouse from the virtio-win ISO (folder {}, or "
      "virtio-win-guest-tools.exe); without it Windows reads them through the emulated PS/2 devices",
      folder);
}

// An install medium the spec names must be a file on the host.
void check_media(const GuestEnv& env, GuestPlan& plan, const std::string& path, const SpecPos& pos, const char* key) {
  if (!env.known) return;
  const FileFact* f = fact(env, path);
  if (f && f->kind == Kind::regular) return;
  if (!f) return;
  if (!f->exists() && unchecked(env, plan, pos, fmt::format("{} {}", key, path))) return;
  if (f->exists()) fail_at(pos, fmt::format("{} {} is not a file", key, path));
  fail_at(pos, fmt::format("{} {} does not exist {}", key, path, instead(*f, path)));
}

PlannedDisk cdrom(const std::string& source, DiskRole role) {
  PlannedDisk d;
  d.source = source;
  d.role = role;
  d.bus = DiskBus::sata;
  d.cdrom = true;
  return d;
}

// Windows Setup sees a virtio disk only with the virtio-win drivers.
void driver_steps(const GuestEnv& env, const InstallSpec& in, const std::optional<std::string>& drivers,
                  GuestPlan& plan) {
  bool virtio_disk = std::any_of(plan.disks.begin(), plan.disks.end(), [](const PlannedDisk& d) {
    return !d.cdrom && (d.bus == DiskBus::virtio_scsi || d.bus == DiskBus::virtio_blk);
  });
  if (!plan.windows || !virtio_disk) return;
  if (drivers) {
    bool scsi = std::any_of(plan.disks.begin(), plan.disks.end(),
                            [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::virtio_scsi; });
    plan.next_steps.push_back(fmt::format(
        "Windows Setup shows no disk at first: choose \"Load driver\", browse the virtio-win CD-ROM ({}) and "
        "pick the folder {}\\{}\\amd64",
        *drivers, scsi ? "vioscsi" : "viostor", virtio_win_os_dir(plan.spec.os)));
    plan.next_steps.push_back(
        "after Setup, install the rest from the same CD-ROM (virtio-win-guest-tools.exe: "
        "network, balloon, guest agent)");
  } else if (in.drivers == InstallSpec::Drivers::none) {
    plan.warnings.push_back(
        fmt::format("{}: install.drivers = \"none\": Windows Setup will not see the virtio "
                    "disk; give it the virtio-win ISO (drivers = \"auto\" or a path)",
                    in.drivers_pos.str()));
  } else if (env.known) {
    plan.warnings.push_back(fmt::format(
        "{}: no virtio-win ISO found ({}): Windows Setup will not see the virtio disk; download virtio-win.iso "
        "(https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/) and set drivers = "
        "\"/path/to/virtio-win.iso\"",
        in.pos.str(), join(virtio_win_candidates(), ", ")));
  }
}

}  // namespace

void plan_install(const GuestEnv& env, GuestPlan& plan) {
  if (!plan.spec.install) {
    if (plan.windows && !plan.evdev.empty()) plan.next_steps.push_back(input_driver_step(plan, std::nullopt));
    return;
  }
  const InstallSpec& in = *plan.spec.install;
  check_media(env, plan, in.iso, in.iso_pos, "install.iso");
  plan.disks.push_back(cdrom(in.iso, DiskRole::installer));
  std::optional<std::string> drivers;
  if (in.drivers == InstallSpec::Drivers::path) {
    check_media(env, plan, in.drivers_path, in.drivers_pos, "install.drivers");
    drivers = in.drivers_path;
  } else if (in.drivers == InstallSpec::Drivers::automatic && plan.windows && env.virtio_win) {
    drivers = env.virtio_win;
  }
  if (drivers) plan.disks.push_back(cdrom(*drivers, DiskRole::drivers));
  driver_steps(env, in, drivers, plan);
  if (plan.windows && !plan.evdev.empty()) plan.next_steps.push_back(input_driver_step(plan, drivers));
  plan.next_steps.push_back(
      "when the OS is installed: vfioctl new --installed DOMAIN.xml (or the domain's name "
      "with --connect) removes the install media");
}

}  // namespace vfioctl::day_one
