#include "vfioctl/setup/guest_request.h"

#include <fmt/format.h>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/input.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/error.h"

namespace vfioctl::setup {

StaticPages hugepages_for(const Host& host, const std::string& spec_path) {
  GuestSpec spec = load_guest_spec(spec_path);
  MemoryPlan mp = plan_memory(host.memory, host.platform, memory_request(host, spec));
  if (mp.page_kib == 0) {
    throw input_error(
        fmt::format("--hugepages-for {}: the guest asks for no hugepages (hugepages = \"off\")", spec_path));
  }
  return StaticPages{mp.pages * mp.page_kib / 1024, mp.page_kib};
}

QemuConfRequest qemu_conf_request(const Root& root, const Host& host, const std::string& spec_path, long long uid) {
  GuestSpec spec = load_guest_spec(spec_path);
  QemuConfRequest q;
  q.spec = spec_path;
  q.distro = host.system.distro;
  if (spec.input.evdev == "paths") {
    q.devices = spec.input.devices;
  } else if (spec.input.evdev == "auto") {
    Notes notes;
    for (const auto& d : read_input_devices(root, notes)) q.devices.push_back(d.path);
  }
  if (spec.audio.backend == AudioBackend::pipewire || spec.audio.backend == AudioBackend::pulseaudio) {
    if (uid == 0)
      throw input_error(
          fmt::format("{}:{}: audio.backend \"{}\" plays to a user's sound server, but vfioctl runs "
                      "as root without sudo: run it through sudo from that user",
                      spec_path, spec.audio.pos.line, audio_backend_name(spec.audio.backend)));
    q.user = "+" + std::to_string(uid);
  }
  return q;
}

}  // namespace vfioctl::setup
