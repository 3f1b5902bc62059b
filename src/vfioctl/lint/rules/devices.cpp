// Devices: disk I/O modes, queues, the balloon, how a passed device's
// functions sit in the guest, suspend, Looking Glass shared memory; and raw
// QEMU arguments in <qemu:commandline> (a -cpu that replaces libvirt's, PCI
// devices passed behind libvirt's back).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/lint/rules/qemu_option.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

namespace {

std::string disk_name(pugi::xml_node disk) {
  std::string dev = disk.child("target").attribute("dev").value();
  return dev.empty() ? "disk" : "disk " + dev;
}

}  // namespace

// L007
void check_io_native_cache(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node disk : d.root().child("devices").children("disk")) {
    pugi::xml_node drv = disk.child("driver");
    if (!attr_is(drv, "io", "native")) continue;
    std::string cache = drv.attribute("cache").value();
    if (cache == "none" || cache == "directsync") continue;
    std::string what = cache.empty() ? "no cache mode (QEMU's default, writeback)" : "cache='" + cache + "'";
    EditSet edits;
    edits.add(d.editor().set_attr(drv, "cache", "none"));
    out.add(drv, fmt::format("{}: io='native' with {}", disk_name(disk), what),
            "add cache='none' to this <driver>, or use io='threads'", edits);
  }
}

// L008
void check_queues(const Domain& d, const Host*, Emitter& out) {
  if (!d.vcpus) return;
  for (pugi::xml_node dev : d.root().child("devices").children()) {
    std::string_view kind = dev.name();
    std::string what;
    if (kind == "controller" && attr_is(dev, "type", "scsi") && attr_is(dev, "model", "virtio-scsi")) {
      what = fmt::format("virtio-scsi controller {}", dev.attribute("index").as_string("0"));
    } else if (kind == "disk" && attr_is(dev.child("target"), "bus", "virtio")) {
      what = "virtio " + disk_name(dev);
    } else {
      continue;
    }
    pugi::xml_node drv = dev.child("driver");
    auto queues = parse_number(drv.attribute("queues").value());
    if (!queues || static_cast<long>(*queues) <= *d.vcpus) continue;
    EditSet edits;
    edits.add(d.editor().set_attr(drv, "queues", std::to_string(*d.vcpus)));
    out.add(drv, fmt::format("{} has {} queues for {} vCPUs", what, *queues, *d.vcpus),
            fmt::format("set queues='{}' (one per vCPU at most)", *d.vcpus), edits);
  }
}

// L009
void check_balloon(const Domain& d, const Host*, Emitter& out) {
  if (d.pci_hostdevs.empty()) return;
  pugi::xml_node devices = d.root().child("devices");
  pugi::xml_node balloon = devices.child("memballoon");
  NewElement none{"memballoon", {{"model", "none"}}, {}, {}};
  EditSet edits;
  if (!balloon) {
    edits.add(d.editor().append(devices, none));
    out.add(devices, "no <memballoon>: libvirt adds a virtio balloon, useless with passed-through PCI devices",
            "add <memballoon model='none'/> to <devices>", edits);
    return;
  }
  std::string model = balloon.attribute("model").value();
  if (model == "none") return;
  // Its address and stats go with it; a comment inside is kept by not fixing.
  if (balloon.find_node([](pugi::xml_node n) { return n.type() == pugi::node_comment; }))
    edits.fail();
  else
    edits.add(d.editor().replace(balloon, none));
  out.add(balloon, fmt::format("memballoon model='{}' in a guest with passed-through PCI devices", model),
          "replace it with <memballoon model='none'/>", edits);
}

// L021
void check_function_slots(const Domain& d, const Host*, Emitter& out) {
  // Host devices by slot, in document order of their first function.
  std::vector<std::vector<const PciHostdev*>> slots;
  for (const auto& h : d.pci_hostdevs) {
    auto it =
        std::find_if(slots.begin(), slots.end(), [&](const auto& s) { return s.front()->host.same_slot(h.host); });
    if (it == slots.end())
      slots.push_back({&h});
    else
      it->push_back(&h);
  }
  for (auto& fns : slots) {
    if (fns.size() < 2) continue;
    // Functions on the host's root bus 00 are the chipset's integrated
    // endpoints (USB, SMBus, LPC, audio): each a device of its own that
    // shares a slot number, passed one by one without a card's layout.
    if (fns.front()->host.bus == 0) continue;
    std::sort(fns.begin(), fns.end(), [](const auto* a, const auto* b) { return a->host.function < b->host.function; });
    const PciHostdev* f0 = fns.front();
    if (f0->host.function != 0) continue;  // a partial set is another question
    std::vector<std::string> hosts, guests;
    bool all_addressed = true, one_slot = true;
    for (const auto* f : fns) {
      hosts.push_back(f->host.short_str());
      if (!f->guest) {
        all_addressed = false;
        guests.push_back("(none)");
        continue;
      }
      guests.push_back(f->guest->slot_str());
      if (!f0->guest || !f->guest->same_slot(*f0->guest)) one_slot = false;
    }
    std::string slot = f0->host.slot_str();
    std::string listed = join(hosts, ", ");
    std::string layout;
    if (f0->guest) {
      std::vector<std::string> lines;
      for (const auto* f : fns) {
        lines.push_back(fmt::format("{} -> guest {:02x}:{:02x}.{:x}", f->host.short_str(), f0->guest->bus,
                                    f0->guest->slot, f->host.function));
      }
      layout = fmt::format(" ({}), multifunction='on' on function 0", join(lines, ", "));
    }
    std::string fix =
        "give the functions one guest slot: the same bus and slot in each <address type='pci'>, the host's function "
        "numbers" +
        layout;
    if (!all_addressed) {
      out.add(f0->node,
              fmt::format("functions of host device {} ({}) have no guest address: libvirt puts each on a slot of "
                          "its own",
                          slot, listed),
              fix);
    } else if (!one_slot) {
      out.add(f0->node,
              fmt::format("functions of host device {} ({}) are on separate guest slots ({})", slot, listed,
                          join(guests, ", ")),
              fix);
    } else if (!f0->multifunction) {
      out.add(f0->node,
              fmt::format("functions of host device {} share guest slot {}, but function 0's address lacks "
                          "multifunction='on'",
                          slot, f0->guest->slot_str()),
              fmt::format("add multifunction='on' to the guest <address> of {}", f0->host.short_str()));
    }
  }
}

// L022
void check_suspend(const Domain& d, const Host*, Emitter& out) {
  if (d.pci_hostdevs.empty()) return;
  pugi::xml_node pm = d.root().child("pm");
  // Without <pm> (or one of its two) libvirt leaves QEMU's default, which
  // offers the guest S3 and S4.
  std::vector<std::string> unset;
  for (const char* name : {"suspend-to-mem", "suspend-to-disk"})
    if (!pm.child(name)) unset.push_back(name);
  if (!unset.empty()) {
    EditSet edits;
    std::vector<NewElement> off;
    for (const auto& name : unset) off.push_back(NewElement{name, {{"enabled", "no"}}, {}, {}});
    if (pm)
      edits.add(d.editor().append(pm, off));
    else
      edits.add(d.editor().insert(d.root(), NewElement{"pm", {}, off, {}}, domain_children_before("pm")));
    out.add(pm ? pm : d.root(),
            fmt::format("{} in a guest with passed-through PCI devices: QEMU then offers the guest {}",
                        pm ? "<pm> without <" + join(unset, "> or <") + ">" : std::string("no <pm>"),
                        unset.size() == 2              ? "S3 and S4"
                        : unset[0] == "suspend-to-mem" ? "S3"
                                                       : "S4"),
            "<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>", edits);
  }
  for (const char* name : {"suspend-to-mem", "suspend-to-disk"}) {
    pugi::xml_node n = pm.child(name);
    if (!attr_is(n, "enabled", "yes")) continue;
    EditSet edits;
    edits.add(d.editor().set_attr(n, "enabled", "no"));
    out.add(n,
            fmt::format("{} (S{}) is enabled in a guest with passed-through PCI devices", name,
                        std::string_view(name) == "suspend-to-mem" ? 3 : 4),
            fmt::format("set <{} enabled='no'/>", name), edits);
  }
}

// L023
void check_looking_glass(const Domain& d, const Host*, Emitter& out) {
  constexpr unsigned long long MiB = 1024ULL * 1024;
  for (pugi::xml_node shm : d.root().child("devices").children("shmem")) {
    std::string name = to_lower(shm.attribute("name").value());
    if (name.find("looking") == std::string::npos) continue;
    pugi::xml_node size = shm.child("size");
    if (!size) continue;
    auto bytes = parse_scaled(size.text().get(), size.attribute("unit").value(), 1);
    if (!bytes) continue;
    std::string shown = *bytes % MiB == 0 ? fmt::format("{} MiB", *bytes / MiB) : fmt::format("{} bytes", *bytes);
    unsigned long long pow2 = 32 * MiB;
    while (pow2 < *bytes && pow2 < (1ULL << 62)) pow2 *= 2;
    auto resize = [&](unsigned long long to) {
      EditSet edits;
      edits.add(d.editor().set_text(size, std::to_string(to / MiB)));
      edits.add(d.editor().set_attr(size, "unit", "M"));
      return edits;
    };
    if (*bytes & (*bytes - 1)) {
      out.add(size, Severity::fail, fmt::format("Looking Glass shared memory of {} is not a power of two", shown),
              fmt::format("<size unit='M'>{}</size>", pow2 / MiB),
              "libvirt refuses a shared memory size that is not a power of two.");
      out.with_edits(resize(pow2));
    } else if (*bytes < 32 * MiB) {
      out.add(size, fmt::format("Looking Glass shared memory of {} is too small: 1920x1080 needs 32 MiB", shown),
              "<size unit='M'>32</size> for 1920x1080, 64 for 2560x1440, 128 for 3840x2160", resize(32 * MiB));
    }
  }
}

// Raw QEMU arguments (the parsing helpers are declared in qemu_option.h).

QemuOption parse_option(std::string_view text) {
  std::vector<std::string> fields(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      fields.back() += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      fields.back() += ',';
      ++i;
    } else {
      fields.emplace_back();
    }
  }
  QemuOption o;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string f(trim(fields[i]));
    size_t eq = f.find('=');
    if (i == 0 && eq == std::string::npos) {
      o.head = f;
    } else if (f.empty()) {
      continue;
    } else if (eq != std::string::npos) {
      o.props.push_back({f.substr(0, eq), f.substr(eq + 1), f});
    } else if (f[0] == '+' || f[0] == '-') {
      o.props.push_back({f.substr(1), f[0] == '+' ? "on" : "off", f});
    } else {
      o.props.push_back({f, "on", f});
    }
  }
  return o;
}

std::optional<bool> qemu_bool(std::string_view v) {
  std::string s = to_lower(v);
  if (s == "on" || s == "yes" || s == "true" || s == "y") return true;
  if (s == "off" || s == "no" || s == "false" || s == "n") return false;
  return std::nullopt;
}

std::vector<OptionUse> option_uses(const Domain& d, std::string_view name) {
  std::vector<OptionUse> out;
  const auto& args = d.qemu_args;
  std::string dash = "-" + std::string(name), ddash = "--" + std::string(name);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view v = trim(args[i].value);
    if (v == dash || v == ddash) {
      if (i + 1 < args.size()) out.push_back({args[i].node, args[i + 1].value, false});
      ++i;
      continue;
    }
    for (const std::string& p : {dash, ddash}) {
      if (v.size() > p.size() && starts_with(v, p) && (v[p.size()] == ' ' || v[p.size()] == '\t')) {
        out.push_back({args[i].node, std::string(trim(v.substr(p.size()))), true});
        break;
      }
    }
  }
  return out;
}

namespace {

std::string one_arg_note(const std::string& name, const OptionUse& u) {
  return fmt::format(
      "'-{} {}' is one <qemu:arg>: QEMU receives it as a single argument, an unknown option, and "
      "refuses to start (give '-{}' and its value as two <qemu:arg> elements)",
      name, u.value, name);
}

// What the XML says instead of a -cpu property, when there is a plain
// equivalent; empty otherwise.
std::string xml_for(const QemuProp& p) {
  auto on = qemu_bool(p.value);
  if (p.raw[0] == '+' || p.raw[0] == '-') {
    return fmt::format("<feature policy='{}' name='{}'/>", p.raw[0] == '+' ? "require" : "disable", p.name);
  }
  if (p.name == "kvm") return on == false ? "<kvm><hidden state='on'/></kvm>" : "";
  if (p.name == "hv_vendor_id") return fmt::format("<vendor_id state='on' value='{}'/>", p.value);
  if (p.name == "hv_spinlocks") return "<spinlocks state='on' retries='8191'/>";
  if (p.name == "hv_time") return on == false ? "" : "<timer name='hypervclock' present='yes'/>";
  if (p.name == "host-cache-info") return on == true ? "<cache mode='passthrough'/>" : "";
  if (p.name == "kvm-hint-dedicated") return on == true ? "<kvm><hint-dedicated state='on'/></kvm>" : "";
  if (p.name == "migratable") return on == false ? "<cpu migratable='off'>" : "";
  if (starts_with(p.name, "hv_") && on == true) return fmt::format("<{} state='on'/>", p.name.substr(3));
  return {};
}

}  // namespace

// L025
void check_qemu_cpu(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node cpu = d.root().child("cpu");
  std::string mode = cpu.attribute("mode").value();
  pugi::xml_node hidden = d.features.child("kvm").child("hidden");
  pugi::xml_node vendor = d.hyperv.child("vendor_id");
  for (const OptionUse& u : option_uses(d, "cpu")) {
    QemuOption o = parse_option(u.value);
    std::vector<std::string> conflicts;

    if (auto kvm = o.last("kvm")) {
      auto on = qemu_bool(*kvm);
      if (on == true && feature_on(hidden)) {
        conflicts.push_back(fmt::format(
            "kvm={} shows KVM to the guest, while <kvm><hidden state='on'/> (line {}) hides it", *kvm, d.line(hidden)));
      } else if (on == false && attr_is(hidden, "state", "off")) {
        conflicts.push_back(
            fmt::format("kvm={} hides KVM from the guest, while <kvm><hidden state='off'/> (line {}) "
                        "shows it",
                        *kvm, d.line(hidden)));
      }
    }

    std::vector<std::string> vendors;
    for (const auto& p : o.props) {
      if (p.name == "hv_vendor_id") vendors.push_back(p.value);
    }
    if (!vendors.empty() && vendor && !attr_is(vendor, "state", "off")) {
      std::string want = vendor.attribute("value").value();
      if (vendors.back() != want) {
        std::string given = vendors.size() > 1
                                ? fmt::format("hv_vendor_id is given {} times ({}); QEMU takes the last, '{}',",
                                              vendors.size(), join(vendors, ", "), vendors.back())
                                : fmt::format("hv_vendor_id={}", vendors.back());
        conflicts.push_back(
            fmt::format("{} differs from <vendor_id value='{}'> (line {})", given, want, d.line(vendor)));
      }
    }

    std::string want_model;
    if (mode == "host-passthrough")
      want_model = "host";
    else if (mode == "maximum")
      want_model = "max";
    else if ((mode.empty() || mode == "custom") && cpu.child("model"))
      want_model = std::string(trim(cpu.child("model").text().get()));
    if (!o.head.empty() && !want_model.empty() && o.head != want_model) {
      conflicts.push_back(fmt::format(
          "CPU model '{}' differs from <cpu {}> (line {})", o.head,
          mode.empty() || mode == "custom" ? "<model>" + want_model + "</model>" : "mode='" + mode + "'", d.line(cpu)));
    }

    for (pugi::xml_node f : cpu.children("feature")) {
      std::string name = f.attribute("name").value();
      std::string policy = f.attribute("policy").value();
      const QemuProp* given = o.find(name);
      auto on = given ? qemu_bool(given->value) : std::nullopt;
      if (!on) continue;
      bool wants_on = policy == "require" || policy == "force";
      bool wants_off = policy == "disable" || policy == "forbid";
      if ((wants_on && !*on) || (wants_off && *on)) {
        conflicts.push_back(fmt::format("{} turns {} {}, while <feature policy='{}' name='{}'/> (line {}) turns it {}",
                                        given->raw, name, *on ? "on" : "off", policy, name, d.line(f),
                                        *on ? "off" : "on"));
      }
    }

    std::vector<std::string> moves;
    for (const auto& p : o.props) {
      std::string x = xml_for(p);
      if (!x.empty() && std::find(moves.begin(), moves.end(), x) == moves.end()) moves.push_back(x);
    }
    if (moves.size() > 8) {
      moves.resize(8);
      moves.push_back("...");
    }
    std::string fix =
        "remove the -cpu arguments from <qemu:commandline> and say in <cpu> and <features> what they "
        "add" +
        (moves.empty() ? std::string() : " (" + join(moves, ", ") + ")");

    std::string replaces = fmt::format(
        "-cpu {} in <qemu:commandline> replaces the whole -cpu libvirt builds from "
        "<cpu> and <features>",
        o.head.empty() ? u.value : o.head + (o.props.empty() ? "" : ",..."));
    std::vector<std::string> notes;
    if (u.one_arg) notes.push_back(one_arg_note("cpu", u));
    notes.insert(notes.end(), conflicts.begin(), conflicts.end());
    if (notes.empty()) {
      out.add(u.at, replaces + ": settings there (Hyper-V, KVM hiding, CPU features) do nothing", fix);
    } else {
      // An error only where QEMU refuses to start: "-cpu host,..." as one
      // argument is an option QEMU does not know. A contradiction runs (the
      // last -cpu wins): it misleads, a warning.
      out.add(u.at, u.one_arg ? Severity::fail : Severity::warn,
              replaces + ", and contradicts it: " + join(notes, "; "), fix,
              "QEMU takes the last -cpu on its command line, so the guest gets what <qemu:commandline> says and the "
              "XML says the opposite: whoever reads or edits the XML is misled, and an edit there does nothing.");
    }
  }
}

// L027
void check_qemu_vfio_device(const Domain& d, const Host*, Emitter& out) {
  for (const OptionUse& u : option_uses(d, "device")) {
    QemuOption o = parse_option(u.value);
    if (device_driver(o) != "vfio-pci") continue;
    std::string host = o.last("host").value_or("");
    if (host.empty()) {
      std::string sysfs = o.last("sysfsdev").value_or("");
      size_t slash = sysfs.find_last_of('/');
      host = slash == std::string::npos ? sysfs : sysfs.substr(slash + 1);
    }
    // "0000:01:00.0" or "01:00.0".
    std::optional<PciLocation> addr;
    {
      auto parts = split(host, ':');
      if (parts.size() == 2 || parts.size() == 3) {
        std::string_view dom = parts.size() == 3 ? parts[0] : "0";
        std::string_view bus = parts[parts.size() - 2];
        auto dev_fn = split(parts.back(), '.');
        if (dev_fn.size() == 2) {
          auto a = parse_hex(dom), b = parse_hex(bus), s = parse_hex(dev_fn[0]), f = parse_hex(dev_fn[1]);
          if (a && b && s && f) {
            addr = PciLocation{static_cast<unsigned>(*a), static_cast<unsigned>(*b), static_cast<unsigned>(*s),
                               static_cast<unsigned>(*f)};
          }
        }
      }
    }
    std::string what = host.empty() ? std::string("a PCI device") : "PCI device " + host;
    std::string fix =
        addr ? fmt::format(
                   "replace these arguments with <hostdev mode='subsystem' type='pci' managed='yes'><source>"
                   "<address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/></source>"
                   "</hostdev> in <devices>",
                   addr->domain, addr->bus, addr->slot, addr->function)
             : std::string(
                   "replace these arguments with a <hostdev mode='subsystem' type='pci' managed='yes'> in "
                   "<devices>");
    std::vector<std::string> notes;
    if (u.one_arg) notes.push_back(one_arg_note("device", u));
    const PciHostdev* twice = nullptr;
    for (const auto& h : d.pci_hostdevs) {
      if (addr && h.host.str() == addr->str()) twice = &h;
    }
    if (twice) {
      notes.push_back(fmt::format("the same device is a <hostdev> too (line {}): it cannot be assigned twice",
                                  d.line(twice->node)));
    }
    std::string message = fmt::format("{} is passed with a raw '-device vfio-pci' in <qemu:commandline>", what);
    if (notes.empty()) {
      out.add(u.at, message, fix);
    } else {
      out.add(u.at, Severity::fail, message + ": " + join(notes, "; "), twice ? "remove these arguments" : fix, "");
    }
  }
}

}  // namespace vfioctl::lint
