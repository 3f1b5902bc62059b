// The spec's tables for what a guest needs on day one: [network], [input],
// [looking_glass], [tune], [install], [[usb]], [audio] and [smbios].
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "vfioctl/guest/evdev_out.h"
#include "vfioctl/guest/spec_parser.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/tune_contract.h"

namespace vfioctl::spec_detail {

namespace {

const std::vector<std::string> kNetModes = {"nat", "bridge", "macvtap", "sriov", "none"};
const std::vector<std::string> kAudioBackends = {"pipewire", "pulseaudio", "scream", "none"};
const std::vector<std::string> kEvdev = {"auto", "none"};
const std::vector<std::string> kNetworkKeys = {"mode", "bridge", "network", "mac", "dev", "pf"};
const std::vector<std::string> kInstallKeys = {"iso", "drivers"};
const std::vector<std::string> kUsbKeys = {"id", "port"};
const std::vector<std::string> kAudioKeys = {"backend"};
const std::vector<std::string> kSmbiosKeys = {"from_host", "keep_serials"};
const std::vector<std::string> kHideKeys = {"hypervisor", "cpuid_bit", "vendor_id"};
const std::vector<std::string> kInputKeys = {"evdev", "grab_toggle"};
const std::vector<std::string> kLookingGlassKeys = {"resolution"};
const std::vector<std::string> kTuneKeys = {"actions"};

constexpr int kMinResolution = 320;
constexpr int kMaxResolution = 16384;

}  // namespace

void SpecParser::parse_network(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("network");
  if (!n) return;
  const auto& t = *table_of(*n, "network", "mode = \"nat\"");
  check_keys(t, kNetworkKeys, "[network]");
  auto& net = spec.network;
  net.pos = pos(*n);
  net.source_pos = net.pos;
  const auto* mode = t.get("mode");
  const auto* bridge = t.get("bridge");
  const auto* network = t.get("network");
  const auto* mac = t.get("mac");
  const auto* dev = t.get("dev");
  const auto* pf = t.get("pf");
  std::string m = mode     ? choice_of(*mode, "network.mode", kNetModes)
                  : bridge ? "bridge"
                  : dev    ? "macvtap"
                  : pf     ? "sriov"
                           : "nat";
  net.mode = m == "nat"       ? NetworkSpec::Mode::nat
             : m == "bridge"  ? NetworkSpec::Mode::bridge
             : m == "macvtap" ? NetworkSpec::Mode::macvtap
             : m == "sriov"   ? NetworkSpec::Mode::sriov
                              : NetworkSpec::Mode::none;
  auto iface_name = [&](const toml::node& node, const std::string& key, const std::string& example) {
    std::string v = string_of(node, key, example);
    if (v.empty() || v.size() > 15 || !all_chars(v, "_.-") || v == "." || v == "..")
      fail(node, fmt::format("{} '{}' is not an interface name: 1 to 15 letters, digits, '_', '.' or '-', like "
                             "\"{}\"",
                             key, v, example));
    return v;
  };
  if (dev) {
    if (net.mode != NetworkSpec::Mode::macvtap)
      fail(*dev, fmt::format("network.dev is the host interface for mode \"macvtap\", but mode is \"{}\"", m));
    net.dev = iface_name(*dev, "network.dev", "enp5s0");
    net.source_pos = pos(*dev);
  } else if (net.mode == NetworkSpec::Mode::macvtap) {
    fail(*mode, "network mode \"macvtap\" needs the host's wired interface: add dev = \"enp5s0\"");
  }
  if (pf) {
    if (net.mode != NetworkSpec::Mode::sriov)
      fail(*pf, fmt::format("network.pf is the SR-IOV physical function for mode \"sriov\", but mode is \"{}\"", m));
    net.pf = iface_name(*pf, "network.pf", "enp5s0f0");
    net.source_pos = pos(*pf);
  } else if (net.mode == NetworkSpec::Mode::sriov) {
    fail(*mode, "network mode \"sriov\" needs the physical function's interface: add pf = \"enp5s0f0\"");
  }
  if (bridge) {
    if (net.mode != NetworkSpec::Mode::bridge)
      fail(*bridge, fmt::format("network.bridge is for mode \"bridge\", but mode is \"{}\"", m));
    net.bridge = iface_name(*bridge, "network.bridge", "br0");
    net.source_pos = pos(*bridge);
  } else if (net.mode == NetworkSpec::Mode::bridge) {
    fail(*mode, "network mode \"bridge\" needs the host bridge: add bridge = \"br0\"");
  }
  if (network) {
    if (net.mode != NetworkSpec::Mode::nat)
      fail(*network, fmt::format("network.network is the libvirt network for mode \"nat\", but mode is \"{}\"", m));
    std::string v = string_of(*network, "network.network", "default");
    if (v.empty() || v.size() > 64 || !all_chars(v, "_.-"))
      fail(*network, fmt::format("network.network '{}' is not a libvirt network name: letters, digits, '_', '.' "
                                 "or '-', like \"default\"",
                                 v));
    net.network = v;
    net.source_pos = pos(*network);
  }
  if (mac) {
    if (net.mode == NetworkSpec::Mode::none) fail(*mac, "network.mac needs a network, but mode is \"none\"");
    std::string v = to_lower(string_of(*mac, "network.mac", "52:54:00:12:34:56"));
    auto parts = split(v, ':');
    bool ok = parts.size() == 6 && std::all_of(parts.begin(), parts.end(), [](std::string_view p) {
                return p.size() == 2 && std::isxdigit(static_cast<unsigned char>(p[0])) &&
                       std::isxdigit(static_cast<unsigned char>(p[1]));
              });
    if (!ok)
      fail(*mac,
           fmt::format("network.mac '{}' is not a MAC address like \"52:54:00:12:34:56\"", mac->as_string()->get()));
    unsigned long first = *parse_hex(parts[0]);
    if (first & 1UL)
      fail(*mac, fmt::format("network.mac '{}' is a multicast address (the first byte is odd); libvirt's guests "
                             "use 52:54:00:xx:xx:xx",
                             mac->as_string()->get()));
    if (v == "00:00:00:00:00:00") fail(*mac, "network.mac '00:00:00:00:00:00' is not a usable address");
    net.mac = v;
  }
}

void SpecParser::parse_input(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("input");
  if (!n) return;
  const auto& t = *table_of(*n, "input", "evdev = \"auto\"");
  check_keys(t, kInputKeys, "[input]");
  auto& in = spec.input;
  in.pos = pos(*n);
  if (const auto* evdev = t.get("evdev")) {
    if (const auto* arr = evdev->as_array()) {
      if (arr->empty()) fail(*evdev, "input.evdev is an empty list; write evdev = \"none\" for no devices");
      std::map<std::string, int> seen;
      for (const auto& e : *arr) {
        const auto* s = e.as_string();
        if (!s)
          fail(e, fmt::format("input.evdev entries must be paths like \"/dev/input/by-id/usb-...-event-kbd\", "
                              "not {}",
                              kind_name(e)));
        const std::string& path = s->get();
        if (!starts_with(path, "/dev/input/") || path.size() == std::string("/dev/input/").size())
          fail(e, fmt::format("input.evdev '{}' is not under /dev/input/; use /dev/input/by-id/...-event-kbd or "
                              "-event-mouse",
                              path));
        for (std::string_view part : split(path, '/')) {
          if (part == "." || part == "..")
            fail(e, fmt::format("input.evdev '{}' climbs out with '{}'; name the device under /dev/input itself", path,
                                part));
        }
        auto [it, fresh] = seen.emplace(path, static_cast<int>(e.source().begin.line));
        if (!fresh) fail(e, fmt::format("input.evdev lists '{}' twice (also line {})", path, it->second));
        in.devices.push_back(path);
      }
      in.evdev = "paths";
    } else if (evdev->is_string()) {
      in.evdev = choice_of(*evdev, "input.evdev", kEvdev);
    } else {
      fail(*evdev, fmt::format("input.evdev must be \"auto\", \"none\" or an array of /dev/input/by-id paths, "
                               "not {}",
                               kind_name(*evdev)));
    }
  }
  if (const auto* toggle = t.get("grab_toggle")) {
    in.grab_toggle = choice_of(*toggle, "input.grab_toggle", grab_toggle_keys());
    if (in.evdev == "none")
      fail(*toggle, "input.grab_toggle needs evdev devices: add evdev = \"auto\" or a list of paths");
  }
}

void SpecParser::parse_looking_glass(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("looking_glass");
  if (!n) return;
  const auto& t = *table_of(*n, "looking_glass", "resolution = \"2560x1440\"");
  check_keys(t, kLookingGlassKeys, "[looking_glass]");
  LookingGlassSpec lg;
  lg.pos = pos(*n);
  const auto* res = t.get("resolution");
  if (!res) fail(*n, "[looking_glass] needs resolution, like resolution = \"2560x1440\"");
  std::string s = string_of(*res, "looking_glass.resolution", "2560x1440");
  std::string lower = to_lower(s);
  auto parts = split(lower, 'x');
  std::optional<long long> w, h;
  auto digits_only = [](std::string_view v) {
    return !v.empty() && v.size() <= 6 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (parts.size() == 2 && digits_only(parts[0]) && digits_only(parts[1])) {
    w = parse_int(parts[0]);
    h = parse_int(parts[1]);
  }
  if (!w || !h) fail(*res, fmt::format("looking_glass.resolution '{}' is not WIDTHxHEIGHT, like \"2560x1440\"", s));
  if (*w < kMinResolution || *w > kMaxResolution || *h < kMinResolution || *h > kMaxResolution)
    fail(*res, fmt::format("looking_glass.resolution '{}': width and height must be {} to {}", s, kMinResolution,
                           kMaxResolution));
  if (spec.passthrough.empty())
    fail(*n, "looking_glass shows a passed GPU's screen, but passthrough is empty; add passthrough = [\"gpu\"]");
  lg.width = static_cast<int>(*w);
  lg.height = static_cast<int>(*h);
  spec.looking_glass = lg;
}

// [tune] actions = ["hugepages", "isolate", "governor", "irq"]: what the
// libvirt hook does while the guest runs (docs/hook.md).
void SpecParser::parse_tune(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("tune");
  if (!n) return;
  const auto& t = *table_of(*n, "tune", "actions = [\"hugepages\", \"isolate\"]");
  check_keys(t, kTuneKeys, "[tune]");
  spec.tune_pos = pos(*n);
  const auto* a = t.get("actions");
  if (!a)
    fail(*n,
         "[tune] needs actions, like actions = [\"hugepages\", \"isolate\", \"governor\", \"irq\"] (or [] for none)");
  const auto* arr = a->as_array();
  if (!arr)
    fail(*a,
         fmt::format("tune.actions must be an array of {}, not {}", join(tune_action_names(), ", "), kind_name(*a)));
  std::vector<std::string> actions;
  for (const auto& e : *arr) {
    const auto* s = e.as_string();
    if (!s)
      fail(e, fmt::format("tune.actions entries must be strings ({}), not {}", join(tune_action_names(), ", "),
                          kind_name(e)));
    if (!is_tune_action(s->get())) {
      fail(e, fmt::format("tune.actions '{}' is not one of {}{}", s->get(), join(tune_action_names(), ", "),
                          did_you_mean(s->get(), tune_action_names(), kSpecTypo)));
    }
    if (std::find(actions.begin(), actions.end(), s->get()) != actions.end())
      fail(e, fmt::format("tune.actions lists '{}' twice", s->get()));
    actions.push_back(s->get());
  }
  spec.tune_actions = actions;
}

void SpecParser::parse_install(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("install");
  if (!n) return;
  const auto& t = *table_of(*n, "install", "iso = \"/srv/iso/Win11.iso\"");
  check_keys(t, kInstallKeys, "[install]");
  InstallSpec in;
  in.pos = pos(*n);
  const auto* iso = t.get("iso");
  if (!iso) fail(*n, "[install] needs iso, the installer image: iso = \"/srv/iso/Win11_24H2_English_x64.iso\"");
  in.iso = absolute_path_of(*iso, "install.iso", "/srv/iso/Win11_24H2_English_x64.iso");
  in.iso_pos = pos(*iso);
  in.drivers_pos = in.pos;
  if (const auto* d = t.get("drivers")) {
    in.drivers_pos = pos(*d);
    std::string v = string_of(*d, "install.drivers", "auto");
    if (v == "auto") {
      in.drivers = InstallSpec::Drivers::automatic;
    } else if (v == "none") {
      in.drivers = InstallSpec::Drivers::none;
    } else if (!v.empty() && v.front() == '/') {
      in.drivers = InstallSpec::Drivers::path;
      in.drivers_path = v;
      if (v == in.iso) fail(*d, "install.drivers is the same file as install.iso");
    } else {
      fail(*d, fmt::format("install.drivers '{}' is not \"auto\", \"none\" or an absolute path to the virtio-win "
                           "ISO{}",
                           v, did_you_mean(v, {"auto", "none"}, kSpecTypo)));
    }
  }
  for (const auto& disk : spec.disks) {
    if (disk.source == in.iso || (in.drivers == InstallSpec::Drivers::path && disk.source == in.drivers_path))
      fail(*n, fmt::format("[install] names {}, which the [[disk]] on line {} uses too", disk.source, disk.pos.line));
  }
  spec.install = in;
}

void SpecParser::parse_usb(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("usb");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr || !std::all_of(arr->begin(), arr->end(), [](const toml::node& e) { return e.is_table(); }))
    fail(*n, "usb must be an array of tables: write [[usb]] with id = \"046d:c52b\" (one [[usb]] per device)");
  std::map<std::string, int> seen;  // id/port -> line
  for (const auto& e : *arr) {
    const auto& t = *e.as_table();
    check_keys(t, kUsbKeys, "[[usb]]");
    UsbSpec u;
    u.pos = pos(e);
    const auto* id = t.get("id");
    if (!id) fail(e, "[[usb]] has no id; add id = \"vendor:product\" as 'vfioctl list usb' shows it");
    std::string v = to_lower(string_of(*id, "usb.id", "046d:c52b"));
    auto parts = split(v, ':');
    auto hex4 = [](std::string_view p) {
      return p.size() == 4 &&
             std::all_of(p.begin(), p.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    };
    if (parts.size() != 2 || !hex4(parts[0]) || !hex4(parts[1]))
      fail(*id, fmt::format("usb.id '{}' is not vendor:product in hex, like \"046d:c52b\" ('vfioctl list usb')",
                            id->as_string()->get()));
    u.vendor = static_cast<unsigned>(*parse_hex(parts[0]));
    u.product = static_cast<unsigned>(*parse_hex(parts[1]));
    u.pos = pos(*id);
    if (const auto* port = t.get("port")) {
      std::string p = string_of(*port, "usb.port", "1-4.2");
      // The kernel's name for a port path: BUS-PORT[.PORT...], numbers only.
      bool ok = !p.empty() && std::isdigit(static_cast<unsigned char>(p.front())) && p.find('-') != std::string::npos &&
                std::all_of(p.begin(), p.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'; });
      if (!ok)
        fail(*port, fmt::format("usb.port '{}' is not a USB port path like \"1-4\" or \"3-1.2\" (the PORT column "
                                "of 'vfioctl list usb')",
                                p));
      u.port = p;
    }
    std::string key = u.id() + "/" + u.port.value_or("");
    auto [it, fresh] = seen.emplace(key, u.pos.line);
    if (!fresh)
      fail(*id, fmt::format("[[usb]] {} is listed twice (also line {}); two devices with one id need port = ... "
                            "each",
                            u.id(), it->second));
    spec.usb.push_back(u);
  }
}

void SpecParser::parse_audio(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("audio");
  if (!n) return;
  const auto& t = *table_of(*n, "audio", "backend = \"pipewire\"");
  check_keys(t, kAudioKeys, "[audio]");
  spec.audio.pos = pos(*n);
  const auto* b = t.get("backend");
  if (!b) fail(*n, "[audio] needs backend: \"pipewire\", \"pulseaudio\", \"scream\" or \"none\"");
  spec.audio.pos = pos(*b);
  std::string v = choice_of(*b, "audio.backend", kAudioBackends);
  spec.audio.backend = v == "pipewire"     ? AudioBackend::pipewire
                       : v == "pulseaudio" ? AudioBackend::pulseaudio
                       : v == "scream"     ? AudioBackend::scream
                                           : AudioBackend::none;
}

void SpecParser::parse_smbios(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("smbios");
  if (!n) return;
  const auto& t = *table_of(*n, "smbios", "from_host = true");
  check_keys(t, kSmbiosKeys, "[smbios]");
  spec.smbios.pos = pos(*n);
  if (const auto* f = t.get("from_host")) spec.smbios.from_host = bool_of(*f, "smbios.from_host");
  if (const auto* k = t.get("keep_serials")) {
    spec.smbios.keep_serials = bool_of(*k, "smbios.keep_serials");
    if (spec.smbios.keep_serials && !spec.smbios.from_host)
      fail(*k, "smbios.keep_serials is about the host's serial numbers; it needs from_host = true");
  }
}

void SpecParser::parse_hide(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("hide");
  if (!n) return;
  const auto& t = *table_of(*n, "hide", "hypervisor = true");
  check_keys(t, kHideKeys, "[hide]");
  HideSpec& h = spec.hide;
  h.pos = pos(*n);
  if (const auto* v = t.get("hypervisor")) {
    h.pos = pos(*v);
    if (const auto* b = v->as_boolean()) {
      h.hypervisor = b->get() ? HideSpec::Mode::on : HideSpec::Mode::off;
    } else if (const auto* str = v->as_string(); str && str->get() != "auto") {
      std::string lower = to_lower(str->get());
      for (const char* word : {"true", "yes", "on", "false", "no", "off"}) {
        if (lower == word)
          fail(*v, fmt::format("hide.hypervisor '{}': true and false go without quotes: write hypervisor = {}",
                               str->get(), lower == "true" || lower == "yes" || lower == "on" ? "true" : "false"));
      }
      fail(*v, fmt::format("hide.hypervisor '{}' is not \"auto\", true or false{}", str->get(),
                           did_you_mean(to_lower(str->get()), {"auto"}, kSpecTypo)));
    } else if (!str) {
      fail(*v, fmt::format("hide.hypervisor must be \"auto\", true or false, not {}", kind_name(*v)));
    }
  }
  if (const auto* v = t.get("cpuid_bit")) {
    h.cpuid_bit = bool_of(*v, "hide.cpuid_bit");
    h.cpuid_bit_pos = pos(*v);
    if (!h.cpuid_bit && h.hypervisor == HideSpec::Mode::off)
      fail(*v, "hide.cpuid_bit = false hides the hypervisor, but hypervisor = false keeps it shown; drop one");
    // Clearing the bit is hiding: "auto" becomes on.
    if (!h.cpuid_bit) h.hypervisor = HideSpec::Mode::on;
  }
  if (const auto* v = t.get("vendor_id")) {
    std::string id = string_of(*v, "hide.vendor_id", "vfioctlguest");
    if (id.empty() || id.size() > 12 || !all_chars(id, ""))
      fail(*v, fmt::format("hide.vendor_id '{}' must be 1 to 12 ASCII letters and digits (a 12-byte CPUID field)", id));
    if (!preset_is_windows(spec.preset))
      fail(*v, fmt::format("hide.vendor_id is the Hyper-V vendor id, which only Windows guests have; preset '{}' "
                           "has no Hyper-V enlightenments",
                           preset_name(spec.preset)));
    if (h.hypervisor == HideSpec::Mode::off)
      fail(*v, "hide.vendor_id is written only when the hypervisor is hidden; hypervisor = false");
    if (!h.cpuid_bit)
      fail(*v,
           "hide.vendor_id goes with the Hyper-V enlightenments, which cpuid_bit = false leaves out (Windows "
           "ignores them without the bit); drop vendor_id");
    h.vendor_id = id;
    h.vendor_id_pos = pos(*v);
  }
}

}  // namespace vfioctl::spec_detail
