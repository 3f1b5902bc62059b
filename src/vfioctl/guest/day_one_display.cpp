// Sound, display and SMBIOS of a guest (docs/design.md, "Day one of a guest").
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::day_one {

void plan_audio(const GuestEnv& env, GuestPlan& plan) {
  const AudioSpec& a = plan.spec.audio;
  plan.audio = a.backend;
  switch (a.backend) {
    case AudioBackend::none: return;
    case AudioBackend::scream:
      // Scream's default ring: 2 MiB of IVSHMEM (the receiver's -m option).
      plan.scream_mib = 2;
      plan.next_steps.push_back(
          "install the Scream driver in the guest (IVSHMEM mode: registry value "
          "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Scream\\Options\\UseIVSHMEM = 2), and run "
          "scream -m /dev/shm/scream-ivshmem on the host");
      return;
    case AudioBackend::pipewire:
    case AudioBackend::pulseaudio: {
      if (!env.known) {
        plan.audio_socket = pulse_socket(1000);
        return;
      }
      if ((!env.user_uid || *env.user_uid == 0) &&
          unchecked_because(env, plan, a.pos,
                            fmt::format("audio.backend \"{}\" plays to a user's sound server, and vfioctl runs as "
                                        "root (not through sudo): {} (uid 1000) is assumed; on the host, run vfioctl "
                                        "through sudo from that user",
                                        audio_backend_name(a.backend), pulse_socket(1000)))) {
        plan.audio_socket = pulse_socket(1000);
        return;
      }
      if (!env.user_uid || *env.user_uid == 0)
        fail_at(a.pos, fmt::format("audio.backend \"{}\" plays to a user's sound server, but vfioctl runs as root "
                                   "without sudo: run it as that user, or through sudo",
                                   audio_backend_name(a.backend)));
      plan.audio_socket = pulse_socket(*env.user_uid);
      const FileFact* f = fact(env, plan.audio_socket);
      if (f && !f->exists())
        plan.warnings.push_back(
            fmt::format("{}: no sound server socket at {}: is {} running for user {}?", a.pos.str(), plan.audio_socket,
                        a.backend == AudioBackend::pipewire ? "pipewire-pulse" : "pulseaudio", *env.user_uid));
      return;
    }
  }
}

void plan_display(GuestPlan& plan) {
  bool gpu = std::any_of(plan.passed.begin(), plan.passed.end(), [](const PassedFunction& f) { return f.gpu; });
  plan.spice_input = gpu && plan.looking_glass_mib > 0;
  if (plan.looking_glass_mib > 0) {
    plan.next_steps.push_back(
        fmt::format("Looking Glass: install its host application in the guest; on this host "
                    "run looking-glass-client (shared memory /dev/shm/looking-glass, {} MiB; "
                    "keyboard and mouse through SPICE)",
                    plan.looking_glass_mib));
  }
}

// SMBIOS types 0-3 from the host's DMI strings.
void plan_smbios(const GuestEnv& env, GuestPlan& plan) {
  const SmbiosSpec& sm = plan.spec.smbios;
  if (!sm.from_host || !env.known) return;
  if (!env.dmi.present &&
      unchecked_because(env, plan, sm.pos,
                        "smbios.from_host: this host tree (--root) has no DMI tables (/sys/class/dmi/id), so the "
                        "guest gets none here; on the host itself it gets the host's"))
    return;
  if (!env.dmi.present)
    fail_at(sm.pos,
            "smbios.from_host: this host has no DMI tables (/sys/class/dmi/id is missing: a virtual machine "
            "without SMBIOS, or a board without it); remove [smbios]");
  const auto& f = env.dmi.fields;
  auto value = [&](const std::string& field) -> std::optional<std::string> {
    auto it = f.find(field);
    if (it == f.end()) return std::nullopt;
    if (dmi_is_serial(field) && !sm.keep_serials) return std::string("Default string");
    return it->second;
  };
  struct Map {
    const char* section;
    const char* entry;
    const char* field;
  };
  const Map kMap[] = {
      {"bios", "vendor", "bios_vendor"},
      {"bios", "version", "bios_version"},
      {"bios", "date", "bios_date"},
      {"system", "manufacturer", "sys_vendor"},
      {"system", "product", "product_name"},
      {"system", "version", "product_version"},
      {"system", "serial", "product_serial"},
      {"system", "sku", "product_sku"},
      {"system", "family", "product_family"},
      {"baseBoard", "manufacturer", "board_vendor"},
      {"baseBoard", "product", "board_name"},
      {"baseBoard", "version", "board_version"},
      {"baseBoard", "serial", "board_serial"},
      {"baseBoard", "asset", "board_asset_tag"},
      {"chassis", "manufacturer", "chassis_vendor"},
      {"chassis", "version", "chassis_version"},
      {"chassis", "serial", "chassis_serial"},
      {"chassis", "asset", "chassis_asset_tag"},
  };
  for (const auto& m : kMap) {
    auto v = value(m.field);
    if (!v) continue;
    // libvirt takes a BIOS date as mm/dd/yyyy only.
    if (std::string(m.entry) == "date" && !(v->size() == 10 && (*v)[2] == '/' && (*v)[5] == '/')) continue;
    auto sec =
        std::find_if(plan.sysinfo.begin(), plan.sysinfo.end(), [&](const auto& s) { return s.first == m.section; });
    if (sec == plan.sysinfo.end()) {
      plan.sysinfo.push_back({m.section, {}});
      sec = plan.sysinfo.end() - 1;
    }
    sec->second.push_back({m.entry, *v});
  }
  if (sm.keep_serials) {
    auto it = f.find("product_uuid");
    if (it != f.end() && it->second.size() == 36) plan.uuid = to_lower(it->second);
  }
}

}  // namespace vfioctl::day_one
