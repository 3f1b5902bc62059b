#include "vfioctl/guest/needs.h"

#include <fmt/format.h>
#include <pugixml.hpp>

#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/xml_check.h"

namespace vfioctl {

namespace {

long long kib(const pugi::xml_node& n) {
  long long v = parse_int(n.child_value()).value_or(0);
  std::string unit = to_lower(n.attribute("unit").value());
  if (unit.empty() || unit == "kib" || unit == "k") return v;
  if (unit == "mib" || unit == "m") return v * 1024;
  if (unit == "gib" || unit == "g") return v * 1024 * 1024;
  if (unit == "b" || unit == "bytes") return v / 1024;
  return v;
}

}  // namespace

GuestNeeds read_guest_needs(const std::string& xml) {
  if (auto p = xml_problem(xml))
    throw input_error(p->line ? fmt::format("line {}: not well-formed XML: {}", p->line, p->message)
                              : "not well-formed XML: " + p->message);
  pugi::xml_document doc;
  auto r = doc.load_string(xml.c_str());
  if (!r) throw input_error(std::string("not an XML document: ") + r.description());
  pugi::xml_node dom = doc.child("domain");
  if (!dom) throw input_error("not a libvirt domain: the root element is not <domain>");
  GuestNeeds n;
  n.name = dom.child_value("name");
  n.uuid = dom.child_value("uuid");
  n.kvm = std::string(dom.attribute("type").value()) == "kvm";
  n.memory_kib = kib(dom.child("memory"));
  if (pugi::xml_node mb = dom.child("memoryBacking")) {
    if (pugi::xml_node hp = mb.child("hugepages")) {
      if (pugi::xml_node page = hp.child("page")) {
        pugi::xml_node size = page;  // size + unit attributes
        long long v = size.attribute("size").as_llong();
        std::string unit = to_lower(size.attribute("unit").value());
        n.hugepage_kib = unit == "m" || unit == "mib" ? v * 1024 : unit == "g" || unit == "gib" ? v * 1024 * 1024 : v;
      } else {
        n.hugepages_default_size = true;
      }
    }
    n.locked = static_cast<bool>(mb.child("locked"));
  }
  for (pugi::xml_node f : dom.child("cpu").children("feature")) {
    std::string name = f.attribute("name").value();
    std::string policy = f.attribute("policy").value();
    if ((name == "vmx" || name == "svm") && (policy == "require" || policy == "force")) n.nested = name;
  }
  pugi::xml_node devices = dom.child("devices");
  for (pugi::xml_node in : devices.children("input")) {
    if (std::string(in.attribute("type").value()) == "evdev")
      n.evdev.push_back(in.child("source").attribute("dev").value());
  }
  for (pugi::xml_node a : devices.children("audio")) {
    if (std::string(a.attribute("type").value()) != "pulseaudio") continue;
    std::string server = a.attribute("serverName").value();
    if (starts_with(server, "unix:")) server = server.substr(5);
    if (starts_with(server, "/")) n.audio_sockets.push_back(server);
  }
  for (pugi::xml_node hd : devices.children("hostdev")) {
    if (pugi::xml_node rom = hd.child("rom"); rom && rom.attribute("file"))
      n.roms.push_back(rom.attribute("file").value());
  }
  for (pugi::xml_node sh : devices.children("shmem")) n.shmems.push_back(sh.attribute("name").value());
  for (pugi::xml_node i : devices.children("interface")) {
    if (std::string(i.child("model").attribute("type").value()) == "virtio") n.virtio_net = true;
  }
  // evdev handed to QEMU directly: -object input-linux,...,evdev=PATH
  for (pugi::xml_node cl = dom.first_child(); cl; cl = cl.next_sibling()) {
    if (std::string(cl.name()).find("commandline") == std::string::npos) continue;
    for (pugi::xml_node arg : cl.children()) {
      std::string v = arg.attribute("value").value();
      size_t at = v.find("evdev=");
      if (v.find("input-linux") == std::string::npos || at == std::string::npos) continue;
      std::string path = v.substr(at + 6);
      path = path.substr(0, path.find(','));
      n.evdev_cmdline.push_back(path);
    }
  }
  // <metadata><vfioctl:tune actions="..."/>: the same reading as the hook's.
  runtime::DomainTune tune = runtime::parse_domain_tune(xml);
  n.tune = tune.opted_in;
  n.tune_actions = tune.actions;
  return n;
}

}  // namespace vfioctl
