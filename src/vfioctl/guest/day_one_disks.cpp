// The guest's disks (docs/design.md, "Day one of a guest"): each source checked
// on the host, the images to create, the I/O mode, the iothreads and the
// boot order.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::day_one {

namespace {

std::string bytes_text(unsigned long long bytes) {
  if (bytes % (1ULL << 20) == 0) return mib_text(static_cast<long long>(bytes >> 20));
  return fmt::format("{} bytes", bytes);
}

PlannedDisk planned_disk(const DiskSpec& d) {
  PlannedDisk p;
  p.source = d.source;
  p.role = d.cdrom ? DiskRole::media : DiskRole::disk;
  p.bus = d.bus;
  p.bus_pos = d.bus_pos;
  p.format = d.format.empty() ? "raw" : d.format;
  p.block = starts_with(d.source, "/dev/");
  p.cdrom = d.cdrom;
  return p;
}

// A block device: one missing now is attached later; anything else there is an error.
void check_block(const DiskSpec& d, const FileFact& f, GuestPlan& plan) {
  if (!f.exists()) {
    plan.warnings.push_back(
        fmt::format("{}: disk {} is not on this host now; attach it before the guest "
                    "starts",
                    d.source_pos.str(), d.source));
  } else if (f.kind != Kind::block) {
    fail_at(d.source_pos, fmt::format("disk.source {} is not a block device", d.source));
  }
}

// A missing image is created when the spec gives its size and its directory exists.
void check_missing(const DiskSpec& d, const FileFact& f) {
  if (f.dangling_link)
    fail_at(d.source_pos, fmt::format("disk.source {} is a link to a missing file: qemu-img would create the "
                                      "file it points to; give the file's own path, or remove the link",
                                      d.source));
  if (!d.size_mib) {
    fail_at(d.source_pos,
            fmt::format("disk.source {} does not exist {}; {}", d.source, instead(f, d.source),
                        d.cdrom ? "put the image there" : "add size = \"64G\" to create it when the guest is written"));
  }
  if (!f.parent_is_dir)
    fail_at(d.source_pos, fmt::format("disk.source {}: the directory {} does not exist; create it first", d.source,
                                      dir_name(d.source)));
}

// Nothing is created over an existing file: with a size in the spec, the
// image must be of that format and size.
void check_existing(const DiskSpec& d, const std::string& format, const FileFact& f) {
  unsigned long long want = static_cast<unsigned long long>(*d.size_mib) << 20;
  if (format == "qcow2" && !f.qcow2_size)
    fail_at(d.source_pos, fmt::format("disk.source {} exists and is not a qcow2 image (format = \"qcow2\"); "
                                      "nothing is created over an existing file: choose another path",
                                      d.source));
  if (format == "raw" && f.qcow2_size)
    fail_at(d.source_pos,
            fmt::format("disk.source {} exists and is a qcow2 image: write format = \"qcow2\"", d.source));
  unsigned long long have = f.qcow2_size ? *f.qcow2_size : f.size;
  if (have != want)
    fail_at(d.size_pos, fmt::format("disk.size {}: {} exists with {} (nothing is created over an existing "
                                    "file); write size = \"{}\" to use it, or choose another path",
                                    mib_text(*d.size_mib), d.source, bytes_text(have), bytes_text(have)));
}

// Checks a disk's source on the host; true when its image is to be created.
bool check_source(const GuestEnv& env, const DiskSpec& d, const PlannedDisk& p, GuestPlan& plan) {
  const FileFact* f = env.known ? fact(env, d.source) : nullptr;
  if (!f) return false;
  if (!f->exists() && unchecked(env, plan, d.source_pos, "disk.source " + d.source)) {
    // planned as written; an image to create is created only on the live host
    if (p.block || !d.size_mib) return false;
    plan.images.push_back(ImageToCreate{d.source, p.format, *d.size_mib});
    return true;
  }
  if (p.block || f->kind == Kind::block) {
    check_block(d, *f, plan);
    return false;
  }
  if (!f->exists()) {
    check_missing(d, *f);
    plan.images.push_back(ImageToCreate{d.source, p.format, *d.size_mib});
    return true;
  }
  if (f->kind != Kind::regular)
    fail_at(d.source_pos, fmt::format("disk.source {} is not a file or a block device", d.source));
  if (d.size_mib) check_existing(d, p.format, *f);
  return false;
}

}  // namespace

void plan_disks(const GuestEnv& env, GuestPlan& plan) {
  for (const auto& d : plan.spec.disks) {
    PlannedDisk p = planned_disk(d);
    bool created = check_source(env, d, p, plan);
    if (!p.cdrom) {
      Backing b = p.block             ? Backing::block_device
                  : p.format == "raw" ? Backing::raw_file
                  : created           ? Backing::qcow2_preallocated
                                      : Backing::qcow2;
      p.io = disk_io(b);
    }
    plan.disks.push_back(p);
  }
}

// Boot order: the first disk, then the installer and other install media
// (an empty disk falls through to the CD-ROM; an installed one boots).
void plan_boot_order(GuestPlan& plan) {
  int order = 1;
  for (auto& d : plan.disks) {
    if (!d.cdrom) {
      d.boot = order++;
      break;
    }
  }
  for (auto& d : plan.disks) {
    if (d.role == DiskRole::installer) d.boot = order++;
  }
  for (auto& d : plan.disks) {
    if (d.role == DiskRole::media) d.boot = order++;
  }
  if (plan.legacy) {
    // i440fx has IDE, not AHCI, built in: CD-ROMs go there.
    for (auto& d : plan.disks) {
      if (d.cdrom) d.bus = DiskBus::sata;
    }
  }
}

// One iothread per virtio-blk disk and one for the virtio-scsi controller,
// all on the CPU plan's iothread CPUs (a housekeeping core), at most one per
// CPU there: more would only take turns on the same CPUs. Disks beyond that
// share them in turn. One iothread stays when no disk uses any.
void plan_iothreads(GuestPlan& plan) {
  int users = 0;
  bool scsi = false;
  for (const PlannedDisk& d : plan.disks) {
    if (d.cdrom) continue;
    if (d.bus == DiskBus::virtio_blk) ++users;
    if (d.bus == DiskBus::virtio_scsi && !scsi) {
      scsi = true;
      ++users;
    }
  }
  int cpus = std::max(1, static_cast<int>(plan.cpu.iothread.size()));
  plan.iothreads = std::clamp(users, 1, cpus);
  int next = 0;
  auto take = [&] { return next++ % plan.iothreads + 1; };
  for (PlannedDisk& d : plan.disks) {
    if (d.cdrom) continue;
    if (d.bus == DiskBus::virtio_blk) d.iothread = take();
    if (d.bus == DiskBus::virtio_scsi && plan.scsi_iothread == 0) plan.scsi_iothread = take();
  }
  if (users > 1) {
    std::string why = fmt::format("{} iothreads for {} virtio disk controllers", plan.iothreads, users);
    if (users > plan.iothreads)
      why += fmt::format(" (at most one per iothread CPU: {} share them in turn)", users);
    else
      why += " (one each)";
    if (!plan.cpu.iothread.empty()) why += ", all on CPUs " + format_cpulist(plan.cpu.iothread);
    plan.reasons.push_back(why);
  }
}

}  // namespace vfioctl::day_one
