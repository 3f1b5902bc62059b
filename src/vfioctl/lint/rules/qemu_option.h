// Reading the raw QEMU arguments of <qemu:commandline>: an option's value
// ("host,kvm=off,+topoext") split into its properties, and where an option
// such as -cpu is given. Shared by the rules on -cpu overrides (L025) and
// on the Hyper-V flags such an override carries (L029).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/lint/domain.h"

namespace vfioctl::lint {

struct QemuProp {
  std::string name;
  std::string value;  // "on" for a bare name or +name, "off" for -name
  std::string raw;    // as written: "+topoext", "kvm=off"
};

// A QEMU option value: "host,kvm=off,+topoext": the first field (unless it is
// a key=value) and the properties, in order. ",," is a literal comma.
struct QemuOption {
  std::string head;
  std::vector<QemuProp> props;

  // The last property named `name`, as QEMU applies them in order.
  const QemuProp* find(std::string_view name) const {
    for (auto it = props.rbegin(); it != props.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }
  std::optional<std::string> last(std::string_view name) const {
    const QemuProp* p = find(name);
    return p ? std::optional<std::string>(p->value) : std::nullopt;
  }
};

QemuOption parse_option(std::string_view text);

// The driver a -device value names: its first field, or driver=.
inline std::string device_driver(const QemuOption& o) {
  return o.head.empty() ? o.last("driver").value_or("") : o.head;
}

// QEMU's booleans: on/yes/true/y and off/no/false/n; nullopt otherwise.
std::optional<bool> qemu_bool(std::string_view v);

// One occurrence of `-NAME VALUE` among the QEMU arguments: either two
// <qemu:arg> elements, or (wrongly) one holding both.
struct OptionUse {
  pugi::xml_node at;  // the <qemu:arg> naming the option
  std::string value;
  bool one_arg = false;  // "-cpu host,..." in a single <qemu:arg>
};

std::vector<OptionUse> option_uses(const Domain& d, std::string_view name);

}  // namespace vfioctl::lint
