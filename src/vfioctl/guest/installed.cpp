// `vfioctl new --installed`: the guest is installed; its install media go.
#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <sstream>
#include <string_view>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/xml_check.h"

namespace vfioctl {

namespace {

// Removes an element and the blank text before it (its line's indentation
// and line break), so no empty line is left where it was.
void remove_with_indent(pugi::xml_node parent, pugi::xml_node n) {
  pugi::xml_node before = n.previous_sibling();
  if (before.type() == pugi::node_pcdata) {
    std::string_view text = before.value();
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) parent.remove_child(before);
  }
  parent.remove_child(n);
}

}  // namespace

std::string remove_install_media(const std::string& xml, std::vector<std::string>& removed) {
  if (auto p = xml_problem(xml))
    throw input_error(p->line ? fmt::format("line {}: not well-formed XML: {}", p->line, p->message)
                              : "not well-formed XML: " + p->message);
  pugi::xml_document doc;
  // The layout is kept as written (whitespace is parsed and written back
  // raw): output no larger than the input, whatever its nesting.
  pugi::xml_parse_result r =
      doc.load_string(xml.c_str(), pugi::parse_default | pugi::parse_comments | pugi::parse_ws_pcdata);
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
    remove_with_indent(devices, d);
  }
  // <os><boot dev='cdrom'/> goes too; per-device boot orders are renumbered from 1.
  if (pugi::xml_node os = domain.child("os")) {
    std::vector<pugi::xml_node> gone;
    for (pugi::xml_node b : os.children("boot")) {
      if (std::string(b.attribute("dev").value()) == "cdrom") gone.push_back(b);
    }
    for (auto b : gone) remove_with_indent(os, b);
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
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  std::string text = out.str();
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

}  // namespace vfioctl
