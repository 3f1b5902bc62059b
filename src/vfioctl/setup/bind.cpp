#include "vfioctl/setup/bind.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/setup/setup_plan.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

constexpr const char* kState = "/var/lib/vfioctl/bound.json";

std::string dev_path(const PciAddress& a, const char* attr) {
  return fmt::format("/sys/bus/pci/devices/{}/{}", a.str(), attr);
}

void check_needed(const Host& host, const PciDevice& d, bool force) {
  if (force) return;
  if (auto why = host_needs(host, d.address, true))
    throw Error(ExitCode::refused, *why + ". Refusing; --force overrides");
  // Only VGA devices have boot_vga: the boot GPU, bound to a driver, drives
  // the console.
  if (d.boot_vga == true && d.driver) {
    throw Error(ExitCode::refused,
                fmt::format("{} is the boot GPU and drives the console ({}): unbinding it blanks the screen and can "
                            "hang the host. Refusing; stop the display manager first and pass --force",
                            d.address.short_str(), *d.driver));
  }
}

// The endpoints of the selected devices' IOMMU groups; with `force` false,
// refuses any the host needs.
std::vector<PciAddress> select(const Host& host, const std::vector<std::string>& selectors, bool force) {
  if (selectors.empty()) throw input_error("give the device: an address (01:00.0), ids (10de:1b81) or a kind (gpu)");
  std::set<PciAddress> out;
  for (const auto& text : selectors) {
    // The host's needs first: a refusal says more than an IOMMU error.
    if (auto sel = parse_selector(text)) {
      for (const auto& d : host.pci) {
        if (selector_matches(*sel, d)) check_needed(host, d, force);
      }
    }
    for (const auto& a : take_devices(host, text, "device", false)) {
      if (const PciDevice* d = host.device(a)) check_needed(host, *d, force);
      out.insert(a);
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace

namespace {

bool valid_driver_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n) + "..."; }

}  // namespace

std::map<PciAddress, std::optional<std::string>> bound_state(const Root& root) {
  std::map<PciAddress, std::optional<std::string>> out;
  auto text = root.read(kState);
  if (!text) return out;
  try {
    auto j = parse_json(*text);
    for (const auto& [k, v] : j.at("devices").items()) {
      auto a = PciAddress::parse(k);
      if (!a) continue;
      if (v.is_null()) {
        out[*a] = std::nullopt;
        continue;
      }
      std::string drv = v.get<std::string>();
      // A driver is one name under /sys/bus/pci/drivers: anything else would
      // make unbind write elsewhere.
      if (!valid_driver_name(drv))
        throw input_error(
            fmt::format("{}: device {} has driver '{}', which is not a driver name (letters, digits, "
                        "'-', '_', '.'; no '/'); correct or remove that entry",
                        kState, k, clip(drv, 64)));
      out[*a] = drv;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ExitCode::refused, fmt::format("{}: unreadable ({}); move it away to start afresh", kState, e.what()));
  }
  return out;
}

BindPlan plan_bind(const Root& root, const Host& host, const std::vector<std::string>& selectors, bool force) {
  BindPlan p;
  p.devices = select(host, selectors, force);
  p.load_vfio = !root.exists("/sys/bus/pci/drivers/vfio-pci");
  for (const auto& a : p.devices) {
    const PciDevice* d = host.device(a);
    std::optional<std::string> drv = d ? d->driver : std::nullopt;
    if (drv == "vfio-pci") {
      p.notes.push_back(a.short_str() + " is on vfio-pci already");
      continue;
    }
    p.drivers[a] = drv;
    p.writes.push_back({dev_path(a, "driver_override"), "vfio-pci"});
    if (drv) p.writes.push_back({dev_path(a, "driver/unbind"), a.str()});
    p.writes.push_back({"/sys/bus/pci/drivers_probe", a.str()});
  }
  return p;
}

BindPlan plan_unbind(const Root& root, const Host& host, const std::vector<std::string>& selectors) {
  BindPlan p;
  // Unbinding gives devices back to the host: nothing to refuse.
  p.devices = select(host, selectors, true);
  auto state = bound_state(root);
  for (const auto& a : p.devices) {
    const PciDevice* d = host.device(a);
    if (!d || d->driver != "vfio-pci") {
      p.notes.push_back(a.short_str() + " is not on vfio-pci");
      continue;
    }
    auto it = state.find(a);
    std::optional<std::string> orig = it != state.end() ? it->second : std::nullopt;
    p.drivers[a] = orig;
    p.writes.push_back({dev_path(a, "driver_override"), "\n"});
    p.writes.push_back({dev_path(a, "driver/unbind"), a.str()});
    if (orig)
      p.writes.push_back({fmt::format("/sys/bus/pci/drivers/{}/bind", *orig), a.str()});
    else
      p.writes.push_back({"/sys/bus/pci/drivers_probe", a.str()});
    if (it == state.end()) {
      p.notes.push_back(a.short_str() + ": no driver recorded by 'vfioctl bind'; the kernel picks one (drivers_probe)");
    }
  }
  return p;
}

void apply_bind(const Root& root, FileSystem& fs, const BindPlan& plan, bool bind) {
  HostLock lock(root, bind ? "bind" : "unbind");
  // Record first: a crash after the writes still leaves what to restore.
  auto state = bound_state(root);
  for (const auto& [a, drv] : plan.drivers) {
    if (bind)
      state.emplace(a, drv);
    else
      state.erase(a);
  }
  nlohmann::json j;
  j["version"] = 1;
  j["devices"] = nlohmann::json::object();
  for (const auto& [a, drv] : state) j["devices"][a.str()] = drv ? nlohmann::json(*drv) : nlohmann::json();
  if (!plan.drivers.empty()) fs.write(real_path(root, kState), j.dump(2) + "\n", FileMode{0644, 0, 0});
  for (const auto& w : plan.writes) fs.write_attribute(real_path(root, w.path), w.value);
}

namespace {

class FixtureAttributes : public FileSystem {
 public:
  void write(const std::string& path, const std::string& content, const FileMode& mode) override {
    real_fs().write(path, content, mode);
  }
  void remove(const std::string& path) override { real_fs().remove(path); }
  void write_attribute(const std::string& path, const std::string& value) override {
    std::ofstream out(path, std::ios::app);
    if (!out) throw Error(ExitCode::refused, path + ": cannot write");
    out << value << (ends_with(value, "\n") ? "" : "\n");
  }
};

}  // namespace

FileSystem& bind_fs(const Root& root) {
  static FixtureAttributes fixture;
  return root.is_live() ? real_fs() : static_cast<FileSystem&>(fixture);
}

void load_vfio_pci(const Root& root, CommandRunner& runner, const BindPlan& plan) {
  if (!plan.load_vfio || !root.is_live()) return;
  auto r = runner.run(Command{{"modprobe", "vfio-pci"}, "load vfio-pci before binding to it"});
  if (r.exit_code != 0) throw Error(ExitCode::refused, "modprobe vfio-pci failed: " + std::string(trim(r.output)));
}

}  // namespace vfioctl::setup
