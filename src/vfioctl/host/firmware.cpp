#include "vfioctl/host/firmware.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <map>

#include "vfioctl/host/root.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// Lowest priority first: a file in a later directory replaces the one of the
// same name in an earlier one (QEMU's firmware.json, "Firmware").
const char* const kDescriptorDirs[] = {"/usr/share/qemu/firmware", "/etc/qemu/firmware"};

// A firmware file named by a descriptor: absolute, no "." or ".."
// components, so that it means one place under the root.
bool plain_absolute(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() > 4096) return false;
  for (auto part : split(path, '/')) {
    if (part == "." || part == "..") return false;
  }
  return true;
}

std::optional<std::string> string_at(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<FirmwareFile> flash_file(const nlohmann::json& mapping, const char* key, std::string& why) {
  auto it = mapping.find(key);
  if (it == mapping.end()) return std::nullopt;
  if (!it->is_object()) {
    why = fmt::format("mapping.{} is not an object", key);
    return std::nullopt;
  }
  auto name = string_at(*it, "filename");
  if (!name) {
    why = fmt::format("mapping.{} has no filename", key);
    return std::nullopt;
  }
  if (!plain_absolute(*name)) {
    why =
        fmt::format("mapping.{}.filename '{}' is not a plain absolute path", key, name->substr(0, limits::kQuoteBytes));
    return std::nullopt;
  }
  FirmwareFile f;
  f.path = *name;
  f.format = string_at(*it, "format").value_or("raw");
  return f;
}

bool machine_is_q35(const std::string& pattern) {
  // Patterns name versioned machine types ("pc-q35-*"); the guest runs the
  // newest q35 of whatever QEMU the host has.
  return pattern == "q35" || ::fnmatch(pattern.c_str(), "pc-q35-99.0", 0) == 0;
}

bool runs_x86_64_q35(const FirmwareDescriptor& d) {
  for (const auto& [arch, machines] : d.targets) {
    if (arch != "x86_64") continue;
    if (std::any_of(machines.begin(), machines.end(), machine_is_q35)) return true;
  }
  return false;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Why a descriptor cannot serve the need, or "" when it can. `relevant`
// says whether it offers that kind of firmware at all (so the reason is
// worth telling).
std::string unusable(const FirmwareDescriptor& d, FirmwareNeed need, bool& relevant) {
  relevant = false;
  if (!has(d.interfaces, "uefi") || !runs_x86_64_q35(d)) return "not UEFI for x86_64 q35";
  bool sb = d.features.count("secure-boot") > 0;
  if (need == FirmwareNeed::uefi && sb) return "Secure Boot";
  if (need == FirmwareNeed::uefi_secure_ms &&
      (!sb || !d.features.count("enrolled-keys") || !d.features.count("requires-smm")))
    return "not Secure Boot with enrolled keys and SMM";
  for (const char* cc : {"amd-sev-es", "amd-sev-snp", "intel-tdx"}) {
    if (d.features.count(cc)) return fmt::format("{} (confidential guests only)", cc);
  }
  relevant = true;
  if (d.device != "flash") return fmt::format("device '{}', not flash", d.device);
  if (d.mode != "split") return fmt::format("flash mode '{}', not split (code and variables apart)", d.mode);
  if (!d.nvram_template) return "no NVRAM template";
  for (const FirmwareFile* f : {&d.executable, &*d.nvram_template}) {
    if (f->format != "raw" && f->format != "qcow2")
      return fmt::format("{}: format '{}', not raw or qcow2", f->path, f->format.substr(0, limits::kQuoteBytes));
    if (!f->exists) return fmt::format("{} is missing", f->path);
  }
  return "";
}

FirmwareFile known_file(const std::string& path) {
  FirmwareFile f;
  f.path = path;
  f.exists = true;
  return f;
}

}  // namespace

const std::vector<KnownFirmware>& known_firmware() {
  static const std::vector<KnownFirmware> kKnown = {
      {"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", false, "Debian, Ubuntu"},
      {"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", true, "Debian, Ubuntu"},
      {"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd", false, "older Debian, Ubuntu"},
      {"/usr/share/OVMF/OVMF_CODE.ms.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd", true, "older Debian, Ubuntu"},
      {"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd", false, "Fedora"},
      {"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", true, "Fedora"},
      {"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd", false, "Arch"},
      {"/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", false, "older Arch"},
      {"/usr/share/qemu/ovmf-x86_64-code.bin", "/usr/share/qemu/ovmf-x86_64-vars.bin", false, "openSUSE"},
      {"/usr/share/qemu/ovmf-x86_64-ms-code.bin", "/usr/share/qemu/ovmf-x86_64-ms-vars.bin", true, "openSUSE"},
  };
  return kKnown;
}

std::optional<FirmwareDescriptor> parse_firmware_descriptor(const std::string& text, std::string& why) {
  nlohmann::json j;
  try {
    j = parse_json(text);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message without its "[json.exception...] " tag, and short.
    std::string what = e.what();
    if (size_t tag = what.find("] "); what.starts_with("[json.") && tag != std::string::npos)
      what = what.substr(tag + 2);
    why = fmt::format("not JSON ({})", what.substr(0, 120));
    return std::nullopt;
  }
  if (!j.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  FirmwareDescriptor d;
  d.description = string_at(j, "description").value_or("");
  auto interfaces = j.find("interface-types");
  if (interfaces == j.end() || !interfaces->is_array()) {
    why = "no interface-types list";
    return std::nullopt;
  }
  for (const auto& i : *interfaces) {
    if (i.is_string()) d.interfaces.push_back(i.get<std::string>());
  }
  auto mapping = j.find("mapping");
  if (mapping == j.end() || !mapping->is_object()) {
    why = "no mapping object";
    return std::nullopt;
  }
  auto device = string_at(*mapping, "device");
  if (!device) {
    why = "mapping has no device";
    return std::nullopt;
  }
  d.device = *device;
  if (d.device == "flash") {
    d.mode = string_at(*mapping, "mode").value_or("split");
    auto exe = flash_file(*mapping, "executable", why);
    if (!exe) {
      if (why.empty()) why = "mapping has no executable";
      return std::nullopt;
    }
    d.executable = *exe;
    d.nvram_template = flash_file(*mapping, "nvram-template", why);
    if (!why.empty()) return std::nullopt;
  } else {
    // memory and kernel mappings name one file, loaded with -bios or -kernel.
    auto name = string_at(*mapping, "filename");
    if (name && plain_absolute(*name)) d.executable.path = *name;
  }
  if (auto targets = j.find("targets"); targets != j.end() && targets->is_array()) {
    for (const auto& t : *targets) {
      if (!t.is_object()) continue;
      auto arch = string_at(t, "architecture");
      auto machines = t.find("machines");
      if (!arch || machines == t.end() || !machines->is_array()) continue;
      std::vector<std::string> m;
      for (const auto& p : *machines) {
        if (p.is_string()) m.push_back(p.get<std::string>());
      }
      d.targets.emplace_back(*arch, std::move(m));
    }
  }
  if (auto features = j.find("features"); features != j.end() && features->is_array()) {
    for (const auto& f : *features) {
      if (f.is_string()) d.features.insert(f.get<std::string>());
    }
  }
  return d;
}

FirmwareCatalog read_firmware(const Root& root, Notes& notes) {
  FirmwareCatalog c;
  c.known = true;
  // name -> the file that takes effect (the later directory wins).
  std::map<std::string, std::string> files;
  for (const char* dir : kDescriptorDirs) {
    auto names = root.list(dir);
    if (!names) continue;
    size_t seen = 0;
    for (const auto& name : *names) {
      if (!ends_with(name, ".json")) continue;
      if (++seen > limits::kFirmwareDescriptors) {
        notes.push_back({dir, fmt::format("more than {} firmware descriptors; the rest are not read",
                                          limits::kFirmwareDescriptors)});
        break;
      }
      files[name] = join_path(dir, name);
    }
  }
  for (const auto& [name, file] : files) {
    Root::FileInfo info = root.stat(file);
    if (info.kind != Root::FileInfo::Kind::regular) {
      notes.push_back({file, "not a regular file; firmware descriptor not read"});
      continue;
    }
    if (info.size == 0) continue;  // an empty file hides the descriptor of that name
    if (info.size > limits::kFirmwareDescriptorBytes) {
      notes.push_back({file, fmt::format("firmware descriptor larger than {} KiB; not read",
                                         limits::kFirmwareDescriptorBytes / 1024)});
      continue;
    }
    auto text = root.read(file);
    if (!text) {
      notes.push_back({file, "unreadable; firmware descriptor not read"});
      continue;
    }
    std::string why;
    auto d = parse_firmware_descriptor(*text, why);
    if (!d) {
      notes.push_back({file, "not a firmware descriptor: " + why + "; left out"});
      continue;
    }
    d->file = file;
    auto exists = [&](FirmwareFile& f) {
      f.exists = !f.path.empty() && root.stat(f.path).kind == Root::FileInfo::Kind::regular;
    };
    exists(d->executable);
    if (d->nvram_template) exists(*d->nvram_template);
    c.descriptors.push_back(std::move(*d));
  }
  for (const auto& k : known_firmware()) {
    if (root.stat(k.code).kind == Root::FileInfo::Kind::regular &&
        root.stat(k.vars).kind == Root::FileInfo::Kind::regular)
      c.present.push_back(k);
  }
  return c;
}

std::string FirmwareChoice::how() const {
  if (!descriptor.empty()) return "firmware descriptor " + descriptor;
  return description;
}

std::optional<FirmwareChoice> choose_firmware(const FirmwareCatalog& catalog, FirmwareNeed need,
                                              std::vector<std::string>* skipped) {
  for (const auto& d : catalog.descriptors) {
    bool relevant = false;
    std::string why = unusable(d, need, relevant);
    if (!why.empty()) {
      if (relevant && skipped) skipped->push_back(fmt::format("{}: {}", d.file, why));
      continue;
    }
    FirmwareChoice c;
    c.code = d.executable;
    c.vars_template = *d.nvram_template;
    c.descriptor = d.file;
    c.description = d.description;
    return c;
  }
  bool want_ms = need == FirmwareNeed::uefi_secure_ms;
  for (const auto& k : catalog.present) {
    if (k.secure_boot_ms != want_ms) continue;
    FirmwareChoice c;
    c.code = known_file(k.code);
    c.vars_template = known_file(k.vars);
    c.description = fmt::format("known path of {}; no firmware descriptor matched", k.distribution);
    return c;
  }
  return std::nullopt;
}

}  // namespace vfioctl
