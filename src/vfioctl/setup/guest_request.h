// What setup takes from a guest spec: `--hugepages-for SPEC.toml` (the
// static pool the guest's memory plan needs) and `--for SPEC.toml` (what the
// guest needs in libvirt's qemu.conf: its evdev devices, the sound server's
// user).
#pragma once

#include <string>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/setup_plan.h"

namespace vfioctl::setup {

struct StaticPages {
  long long mib = 0;
  long long page_kib = 0;
};

// The pool the guest of `spec_path` is planned on (guest_plan.h's
// memory_request). Error(bad_input) when the spec cannot be read or asks for
// no hugepages.
StaticPages hugepages_for(const Host& host, const std::string& spec_path);

// The qemu.conf request of the guest of `spec_path`: its evdev devices
// (listed, or every keyboard and mouse of `root` for evdev = "auto") and,
// for a PipeWire or PulseAudio backend, QEMU's user "+UID" with `uid` the
// user who ran vfioctl (through sudo). Error(bad_input) when the sound
// server's user would be root.
QemuConfRequest qemu_conf_request(const Root& root, const Host& host, const std::string& spec_path, long long uid);

}  // namespace vfioctl::setup
