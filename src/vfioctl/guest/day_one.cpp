// The day-one part of a guest plan: what a person needs right after the CPU
// and memory plan for the guest to install and work (docs/design.md, "Day one
// of a guest"). Pure: host facts come in Host and GuestEnv. The parts are
// in day_one_*.cpp (day_one_parts.h).
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl {

namespace day_one {

void fail_at(const SpecPos& pos, const std::string& msg) { throw input_error(pos.str() + ": " + msg); }

bool unchecked_because(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& why,
                       bool captured) {
  if (!env.snapshot || captured) return false;
  plan.warnings.push_back(fmt::format("{}: not checked: {}", pos.str(), why));
  return true;
}

bool unchecked(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& what, bool captured) {
  return unchecked_because(env, plan, pos,
                           what + " is not in this host tree (--root); it must exist on the host the guest runs on",
                           captured);
}

const FileFact* fact(const GuestEnv& env, const std::string& path) {
  auto it = env.files.find(path);
  return it == env.files.end() ? nullptr : &it->second;
}

std::string mib_text(long long mib) { return size_text_mib(mib, {.largest = Unit::T}); }

std::string instead(const FileFact& f, const std::string& path) {
  std::string dir(dir_name(path));
  if (!f.parent_is_dir) return fmt::format("(the directory {} does not exist either)", dir);
  if (f.siblings.empty()) return fmt::format("(nothing like it in {})", dir);
  return fmt::format("({} has {})", dir, join(f.siblings, ", "));
}

namespace {

// What the host must allow for the guest: shown by `vfioctl new`, checked
// by `vfioctl doctor --guest`.
void plan_permissions(GuestPlan& plan) {
  if (!plan.audio_socket.empty()) {
    std::string uid = plan.audio_socket.substr(10, plan.audio_socket.find("/pulse/") - 10);
    plan.permissions.push_back({"sound socket", plan.audio_socket,
                                fmt::format("QEMU's user must reach it: user = \"+{}\" in /etc/libvirt/qemu.conf "
                                            "('vfioctl setup --for SPEC.toml')",
                                            uid)});
  }
  for (const auto& f : plan.passed) {
    if (f.romfile) {
      plan.permissions.push_back({"ROM file", *f.romfile,
                                  "readable by QEMU's user (mode 0644; under "
                                  "/var/lib/libvirt/vbios/ for AppArmor)"});
      break;
    }
  }
  if (plan.memory.page_kib) {
    plan.permissions.push_back({"hugetlbfs", plan.memory.page_kib >= 1048576 ? "/dev/hugepages1G" : "/dev/hugepages",
                                fmt::format("mounted with pagesize={} before libvirtd starts",
                                            plan.memory.page_kib >= 1048576 ? "1G" : "2M")});
  }
  if (plan.looking_glass_mib > 0)
    plan.permissions.push_back({"Looking Glass", "/dev/shm/looking-glass",
                                "read-write for you and QEMU's user: systemd-tmpfiles line f /dev/shm/looking-glass "
                                "0660 YOU kvm -"});
  if (plan.scream_mib > 0)
    plan.permissions.push_back({"Scream", "/dev/shm/scream-ivshmem",
                                "read-write for you and QEMU's user: systemd-tmpfiles line f /dev/shm/scream-ivshmem "
                                "0660 YOU kvm -"});
  if (plan.spec.nested) {
    const char* module = plan.vendor == CpuVendor::amd ? "kvm_amd" : "kvm_intel";
    plan.permissions.push_back({"nested KVM", fmt::format("/sys/module/{}/parameters/nested", module),
                                fmt::format("Y or 1: options {} nested=1 in /etc/modprobe.d/", module)});
  }
}

}  // namespace

}  // namespace day_one

DiskIo disk_io(Backing b) {
  switch (b) {
    case Backing::block_device: return {"none", "native"};
    case Backing::raw_file: return {"none", "native"};
    case Backing::qcow2_preallocated: return {"none", "native"};
    case Backing::qcow2: return {"none", "threads"};
  }
  return {"none", "threads"};
}

std::vector<std::string> ImageToCreate::argv() const {
  std::vector<std::string> a = {"qemu-img", "create", "-q", "-f", format, "-o"};
  a.push_back(format == "qcow2" ? "preallocation=metadata,cluster_size=2M" : "preallocation=falloc");
  a.push_back(path);
  a.push_back(day_one::mib_text(size_mib));
  return a;
}

std::string nvme_serial(const std::string& source) {
  unsigned h = 2166136261u;
  for (unsigned char c : source) h = (h ^ c) * 16777619u;
  return fmt::format("vfioctl{:08x}", h);
}

std::string name_uuid(const std::string& name) {
  // Two 64-bit FNV-1a hashes with different bases, shaped as a version 4
  // (random-looking) UUID: stable for a name, distinct between names.
  auto fnv = [&](unsigned long long h) {
    for (unsigned char c : name) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    return h;
  };
  unsigned long long a = fnv(14695981039346656037ULL);
  unsigned long long b = fnv(a ^ 0x9e3779b97f4a7c15ULL);
  a = (a & 0xffffffffffff0fffULL) | 0x4000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                     b & 0xffffffffffffULL);
}

void plan_day_one(const Host& host, const GuestEnv& env, GuestPlan& plan) {
  using namespace day_one;
  plan.uuid = name_uuid(plan.name);
  plan_disks(env, plan);
  plan_install(env, plan);
  plan_boot_order(plan);
  plan_iothreads(plan);
  plan_usb(env, plan);
  plan_network(host, env, plan);
  plan_audio(env, plan);
  plan_display(plan);
  plan_smbios(env, plan);
  plan_permissions(plan);
}

}  // namespace vfioctl
