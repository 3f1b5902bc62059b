// What people copy wrong into a guest: vCPUs as sockets, a GPU ROM on its
// audio function, UEFI variables in the distribution's template, iothreads
// nothing uses, NIC models libvirt does not see as virtio, an installer ISO
// as a writable disk, a console open to the network, a malformed UUID,
// <sysinfo> that no SMBIOS mode reads and a BIOS date libvirt refuses.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

// L030
void check_vcpu_sockets(const Domain& d, const Host*, Emitter& out) {
  if (!d.windows || !d.vcpus) return;
  // Windows Server counts sockets by its license, not 1 or 2.
  if (std::string(d.windows_evidence.attribute("id").value()).find("/win/2k") != std::string::npos) return;
  int online = *d.vcpus - static_cast<int>(d.vcpus_offline.size());
  if (online <= 2) return;
  pugi::xml_node cpu = d.root().child("cpu");
  pugi::xml_node topo = cpu.child("topology");
  int sockets = *d.vcpus;
  if (topo) {
    auto s = parse_number(topo.attribute("sockets").value());
    if (!s) return;
    sockets = static_cast<int>(*s);
  }
  if (sockets <= 2) return;
  std::string fix = fmt::format(
      "<topology sockets='1' dies='1' cores='{}' threads='1'/> in <cpu> (or the host's "
      "SMT layout, threads='2', with the vCPUs pinned to sibling pairs)",
      *d.vcpus);
  EditSet edits;
  if (!topo && cpu && *d.vcpus > 0)
    edits.add(d.editor().insert(
        cpu,
        NewElement{"topology",
                   {{"sockets", "1"}, {"dies", "1"}, {"cores", std::to_string(*d.vcpus)}, {"threads", "1"}},
                   {},
                   {}},
        {"model", "vendor"}));
  out.add(topo ? topo : d.vcpu_node,
          topo ? fmt::format("Windows guest with its {} vCPUs on {} sockets: Windows 10/11 Pro uses at most 2 sockets, "
                             "Home 1",
                             *d.vcpus, sockets)
               : fmt::format("Windows guest with {} vCPUs and no <topology>: libvirt presents each vCPU as a socket of "
                             "its own, and Windows 10/11 Pro uses at most 2 sockets, Home 1",
                             *d.vcpus),
          fix, edits);
}

// L031
void check_rom_on_function(const Domain& d, const Host*, Emitter& out) {
  for (const auto& h : d.pci_hostdevs) {
    if (h.host.function == 0) continue;
    pugi::xml_node rom = h.node.child("rom");
    if (!rom || !rom.attribute("file")) continue;
    // The copy: function 0 of the same card carries the same file. (A ROM
    // on another function alone may be right: the display function is not
    // always 0, as on server management cards with their VGA at .1.)
    auto f0 = std::find_if(d.pci_hostdevs.begin(), d.pci_hostdevs.end(), [&](const PciHostdev& o) {
      return o.host.same_slot(h.host) && o.host.function == 0 &&
             std::string_view(o.node.child("rom").attribute("file").value()) == rom.attribute("file").value();
    });
    if (f0 == d.pci_hostdevs.end()) continue;
    EditSet edits;
    edits.add(d.editor().remove(rom));
    out.add(rom,
            fmt::format("ROM file '{}' on function {} of {} as well as on its function 0 ({}): the card's video "
                        "BIOS belongs to the display function; the others do not run it",
                        rom.attribute("file").value(), h.host.function, h.host.slot_str(), f0->host.short_str()),
            fmt::format("remove the <rom> from {} (keep it on {})", h.host.short_str(), f0->host.short_str()), edits);
  }
}

// L032
void check_nvram_template(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node nvram = d.root().child("os").child("nvram");
  if (!nvram) return;
  std::string path(trim(nvram.text().get()));
  if (path.empty() || !starts_with(path, "/usr/share/")) return;
  std::string base = path.substr(path.rfind('/') + 1);
  std::string name(trim(d.root().child_value("name")));
  std::string ext = base.find(".qcow2") != std::string::npos ? ".qcow2" : ".fd";
  std::string own = "/var/lib/libvirt/qemu/nvram/" + (name.empty() ? std::string("guest") : name) + "_VARS" + ext;
  EditSet edits;
  if (!nvram.attribute("template") && !name.empty() && name.find('/') == std::string::npos) {
    edits.add(d.editor().set_text(nvram, own));
    edits.add(d.editor().set_attr(nvram, "template", path));
  }
  out.add(nvram,
          fmt::format("<nvram> is {}, a file of the firmware package: the guest writes its UEFI variables into the "
                      "template every guest starts from (or fails where it is read-only), and a package update "
                      "replaces them",
                      path),
          fmt::format("<nvram template='{}'>{}</nvram>: the guest's own copy, made from the template", path, own),
          edits);
}

// L033
void check_unused_iothreads(const Domain& d, const Host*, Emitter& out) {
  if (d.iothread_ids.empty()) return;
  std::set<int> used;
  auto note = [&](pugi::xml_node driver) {
    if (auto n = parse_number(driver.attribute("iothread").value())) used.insert(static_cast<int>(*n));
    for (pugi::xml_node t : driver.child("iothreads").children("iothread"))
      if (auto n = parse_number(t.attribute("id").value())) used.insert(static_cast<int>(*n));
  };
  auto has_iothread = [](pugi::xml_node driver) {
    return driver.attribute("iothread") || driver.child("iothreads").child("iothread");
  };
  // What could use one and does not: virtio-blk disks and virtio-scsi controllers.
  std::vector<std::string> waiting;
  pugi::xml_node devices = d.root().child("devices");
  for (pugi::xml_node disk : devices.children("disk")) {
    note(disk.child("driver"));
    if (attr_is(disk.child("target"), "bus", "virtio") && !has_iothread(disk.child("driver")))
      waiting.push_back(fmt::format("disk {}", disk.child("target").attribute("dev").value()));
  }
  for (pugi::xml_node c : devices.children("controller")) {
    note(c.child("driver"));
    if (attr_is(c, "type", "scsi") && starts_with(c.attribute("model").value(), "virtio-scsi") &&
        !has_iothread(c.child("driver")))
      waiting.push_back("the virtio-scsi controller");
  }
  for (pugi::xml_node fs : devices.children("filesystem")) note(fs.child("driver"));
  std::vector<int> idle;
  for (int id : d.iothread_ids)
    if (!used.count(id)) idle.push_back(id);
  // An idle iothread with nothing that could use it costs nothing.
  if (idle.empty() || waiting.empty()) return;
  pugi::xml_node at = d.root().child("iothreadids") ? d.root().child("iothreadids") : d.root().child("iothreads");
  out.add(at,
          fmt::format("iothread{} {} declared and unused while {} {} I/O in QEMU's main thread",
                      idle.size() == 1 ? "" : "s", cpus_text(idle), join(waiting, ", "),
                      waiting.size() == 1 ? "runs its" : "run their"),
          fmt::format("<driver iothread='{}'> on the virtio disk (on the virtio-scsi <controller> for its disks)",
                      idle.front()));
}

// L034
void check_nic_model(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node nic : d.root().child("devices").children("interface")) {
    pugi::xml_node model = nic.child("model");
    std::string type = model.attribute("type").value();
    if (type != "virtio-net-pci" && type != "virtio-net" && type != "virtio-net-pci-non-transitional" &&
        type != "virtio-net-pci-transitional")
      continue;
    EditSet edits;
    edits.add(d.editor().set_attr(model, "type", "virtio"));
    out.add(model,
            fmt::format("NIC model '{}' is QEMU's device name: libvirt treats it as an unknown model and gives it no "
                        "vhost-net, no multiqueue and no virtio options",
                        type),
            "<model type='virtio'/>", edits);
  }
}

// L035
void check_iso_as_disk(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node disk : d.root().child("devices").children("disk")) {
    if (!attr_is(disk, "device", "disk")) continue;
    std::string file = disk.child("source").attribute("file").value();
    if (!ends_with(to_lower(file), ".iso")) continue;
    std::string bus = disk.child("target").attribute("bus").value();
    EditSet edits;
    // A CD-ROM on virtio-blk does not exist: only SATA, SCSI and IDE disks
    // change in place.
    if (bus == "sata" || bus == "scsi" || bus == "ide") {
      edits.add(d.editor().set_attr(disk, "device", "cdrom"));
      if (!disk.child("readonly")) edits.add(d.editor().append(disk, NewElement{"readonly", {}, {}, {}}));
    }
    out.add(disk,
            fmt::format("{} is attached as a writable hard disk: the guest can write to the install medium, and "
                        "installers that look for a CD-ROM do not find it",
                        file),
            "<disk type='file' device='cdrom'> with <readonly/> on a SATA (or SCSI) bus", edits);
  }
}

// L036
void check_open_console(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node g : d.root().child("devices").children("graphics")) {
    std::string type = g.attribute("type").value();
    if (type != "vnc" && type != "spice") continue;
    if (g.attribute("passwd")) continue;
    std::string addr = g.attribute("listen").value();
    for (pugi::xml_node l : g.children("listen")) {
      if (attr_is(l, "type", "address") && l.attribute("address")) addr = l.attribute("address").value();
      if (attr_is(l, "type", "socket") || attr_is(l, "type", "none")) addr = "";
    }
    if (addr.empty()) continue;  // libvirt's default: qemu.conf's listen address, localhost unless changed
    std::string a = to_lower(addr);
    if (a == "127.0.0.1" || a == "::1" || a == "localhost" || starts_with(a, "127.")) continue;
    out.add(g,
            fmt::format("{} console listens on {} without a password: anyone who reaches this host's port takes the "
                        "guest's keyboard and screen",
                        type == "vnc" ? "VNC" : "SPICE", addr),
            "listen on 127.0.0.1 (and reach it over SSH: ssh -L), or set passwd='...'");
  }
}

// L037
void check_uuid(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node uuid = d.root().child("uuid");
  if (!uuid) return;
  std::string text(trim(uuid.text().get()));
  int hex = 0;
  bool ok = true;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c)))
      ++hex;
    else if (c != '-' && c != ' ')
      ok = false;
  }
  if (ok && hex == 32) return;
  out.add(uuid, fmt::format("<uuid> '{}' is not a UUID (32 hex digits, 8-4-4-4-12): libvirt refuses the domain", text),
          "remove <uuid> (libvirt makes one) or write one with uuidgen");
}

// L038
void check_sysinfo_mode(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node sysinfo = d.root().child("sysinfo");
  if (!sysinfo || !attr_is(sysinfo, "type", "smbios")) return;
  pugi::xml_node os = d.root().child("os");
  pugi::xml_node smbios = os.child("smbios");
  if (attr_is(smbios, "mode", "sysinfo")) return;
  EditSet edits;
  if (smbios)
    edits.add(d.editor().set_attr(smbios, "mode", "sysinfo"));
  else if (os)
    edits.add(d.editor().append(os, NewElement{"smbios", {{"mode", "sysinfo"}}, {}, {}}));
  out.add(sysinfo,
          smbios ? fmt::format("<sysinfo type='smbios'> with <smbios mode='{}'>: the guest sees {} instead",
                               smbios.attribute("mode").value(),
                               attr_is(smbios, "mode", "host") ? "the host's tables" : "QEMU's defaults")
                 : "<sysinfo type='smbios'> without <smbios mode='sysinfo'/> in <os>: libvirt does not pass it on, and "
                   "the guest sees QEMU's defaults",
          "add <smbios mode='sysinfo'/> to <os>", edits);
}

// L039
void check_bios_date(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node e : d.root().child("sysinfo").child("bios").children("entry")) {
    if (!attr_is(e, "name", "date")) continue;
    std::string v(trim(e.text().get()));
    // libvirt takes mm/dd/yy or mm/dd/yyyy, with a year from 1900 (SMBIOS).
    bool ok = false;
    auto parts = split(v, '/');
    if (parts.size() == 3 && (parts[2].size() == 2 || parts[2].size() == 4) && parts[0].size() == 2 &&
        parts[1].size() == 2) {
      auto m = parse_number(parts[0]), dd = parse_number(parts[1]), y = parse_number(parts[2]);
      ok = m && dd && y && *m >= 1 && *m <= 12 && *dd >= 1 && *dd <= 31 && (parts[2].size() == 2 || *y >= 1900) &&
           std::all_of(v.begin(), v.end(),
                       [](char c) { return c == '/' || std::isdigit(static_cast<unsigned char>(c)); });
    }
    if (ok) continue;
    out.add(e, fmt::format("BIOS date '{}' is not mm/dd/yy or mm/dd/yyyy (from 1900): libvirt refuses the domain", v),
            "write it as mm/dd/yyyy, e.g. 03/14/2023");
  }
}

// L040
void check_stray_qemu_arg(const Domain& d, const Host*, Emitter& out) {
  // QEMU options that take no value; every other option takes the next
  // argument as its value.
  static const std::set<std::string> kFlags = {
      "-S",           "-nodefaults",  "-no-user-config", "-nographic",       "-no-reboot",
      "-no-shutdown", "-daemonize",   "-enable-kvm",     "-no-hpet",         "-no-acpi",
      "-snapshot",    "-full-screen", "-no-fd-bootchk",  "-no-kvm",          "-s",
      "-version",     "-h",           "-help",           "-only-migratable", "-enable-fips",
      "-no-quit",     "-alt-grab",    "-ctrl-grab",      "-win2k-hack",      "-rtc-td-hack",
      "-old-param",   "-preconfig",   "-semihosting",    "-no-frame",        "-portrait",
      "-usb",         "-sdl",         "-curses"};
  bool wants_value = false;
  for (const auto& a : d.qemu_args) {
    std::string v(trim(a.value));
    if (wants_value) {
      wants_value = false;
      continue;
    }
    if (!v.empty() && v[0] == '-') {
      std::string name = v.substr(0, v.find_first_of(" \t"));
      if (starts_with(name, "--")) name = name.substr(1);
      // "-cpu host" in one <qemu:arg> carries its value (L025 judges that).
      wants_value = !kFlags.count(name) && v.find_first_of(" \t") == std::string::npos;
      continue;
    }
    out.add(a.node,
            fmt::format("QEMU argument '{}' follows no option: QEMU takes a bare argument for a disk image to boot, "
                        "does not find it, and refuses to start",
                        v),
            "remove it, or give the option it belongs to before it (each option and its value as two <qemu:arg>)");
  }
}

}  // namespace vfioctl::lint
