#include "vfioctl/guest/evdev_out.h"

#include <pugixml.hpp>

#include <sstream>

#include "vfioctl/util/shell.h"

namespace vfioctl {

const std::vector<std::string>& grab_toggle_keys() {
  static const std::vector<std::string> keys = {"ctrl-ctrl", "alt-alt",    "shift-shift",
                                                "meta-meta", "scrolllock", "ctrl-scrolllock"};
  return keys;
}

std::string grab_toggle_help(std::string_view keys) {
  if (keys == "ctrl-ctrl") return "both Ctrl keys";
  if (keys == "alt-alt") return "both Alt keys";
  if (keys == "shift-shift") return "both Shift keys";
  if (keys == "meta-meta") return "both Meta (Windows) keys";
  if (keys == "scrolllock") return "Scroll Lock";
  if (keys == "ctrl-scrolllock") return "Ctrl+Scroll Lock";
  return std::string(keys);
}

void append_evdev_inputs(pugi::xml_node devices, const std::vector<InputDevice>& inputs, std::string_view grab_toggle) {
  for (const auto& d : inputs) {
    if (!d.event) continue;
    pugi::xml_node input = devices.append_child("input");
    input.append_attribute("type") = "evdev";
    pugi::xml_node source = input.append_child("source");
    source.append_attribute("dev") = d.path.c_str();
    if (d.kind == InputKind::keyboard) {
      source.append_attribute("grab") = "all";
      source.append_attribute("grabToggle") = std::string(grab_toggle).c_str();
      source.append_attribute("repeat") = "on";
    }
  }
}

std::string evdev_inputs_xml(const std::vector<InputDevice>& inputs, std::string_view grab_toggle) {
  pugi::xml_document doc;
  append_evdev_inputs(doc, inputs, grab_toggle);
  std::ostringstream out;
  for (pugi::xml_node n : doc.children())
    n.print(out, "  ", pugi::format_default | pugi::format_attribute_single_quote);
  // pugixml ends an empty element with " />"; libvirt's style is "/>". A
  // value is in single quotes and holds none (they are written &apos;), so
  // outside quotes " />" only ever ends a tag.
  std::string xml;
  bool in_value = false;
  for (char c : out.str()) {
    if (c == '\'') in_value = !in_value;
    if (c == '/' && !in_value && !xml.empty() && xml.back() == ' ') xml.pop_back();
    xml += c;
  }
  return xml;
}

std::vector<std::string> qemu_evdev_args(const std::vector<InputDevice>& inputs, std::string_view grab_toggle) {
  std::vector<std::string> args;
  int keyboards = 0, mice = 0;
  for (const auto& d : inputs) {
    if (!d.event) continue;
    std::string obj;
    if (d.kind == InputKind::keyboard) {
      obj = "input-linux,id=kbd" + std::to_string(++keyboards) + ",evdev=" + qemu_escape(d.path) +
            ",grab_all=on,repeat=on";
      if (grab_toggle != grab_toggle_keys().front()) obj += ",grab-toggle=" + std::string(grab_toggle);
    } else {
      obj = "input-linux,id=mouse" + std::to_string(++mice) + ",evdev=" + qemu_escape(d.path);
    }
    args.push_back("-object");
    args.push_back(std::move(obj));
  }
  return args;
}

}  // namespace vfioctl
