// `vfioctl new --installed`: the guest is installed; its install media go.
#include <pugixml.hpp>

#include <algorithm>
#include <sstream>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/util/error.h"

namespace vfioctl {

std::string remove_install_media(const std::string& xml, std::vector<std::string>& removed) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_string(xml.c_str(), pugi::parse_default | pugi::parse_comments);
  if (!r) throw input_error(std::string("not an XML document: ") + r.description());
  pugi::xml_node domain = doc.child("domain");
  if (!domain) throw input_error("not a libvirt domain: the root element is not <domain>");
  pugi::xml_node devices = domain.child("devices");
  std::vector<pugi::xml_node> cdroms;
  for (pugi::xml_node d : devices.children("disk")) {
    if (std::string(d.attribute("device").value()) == "cdrom") cdroms.push_back(d);
  }
  for (pugi::xml_node d : cdroms) {
    pugi::xml_node src = d.child("source");
    std::string path = src.attribute("file") ? src.attribute("file").value() : src.attribute("dev").value();
    removed.push_back(path.empty() ? "(empty drive)" : path);
    devices.remove_child(d);
  }
  // <os><boot dev='cdrom'/> goes too; per-device boot orders are renumbered from 1.
  if (pugi::xml_node os = domain.child("os")) {
    std::vector<pugi::xml_node> gone;
    for (pugi::xml_node b : os.children("boot")) {
      if (std::string(b.attribute("dev").value()) == "cdrom") gone.push_back(b);
    }
    for (auto b : gone) os.remove_child(b);
  }
  std::vector<std::pair<int, pugi::xml_node>> boots;
  for (pugi::xml_node dev : devices.children()) {
    if (pugi::xml_node b = dev.child("boot"); b && b.attribute("order"))
      boots.push_back({b.attribute("order").as_int(), b});
  }
  std::stable_sort(boots.begin(), boots.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  int n = 1;
  for (auto& [order, b] : boots) b.attribute("order").set_value(n++);
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

}  // namespace vfioctl
