#include "vfioctl/guest/evdev_out.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <sstream>

namespace vfioctl {
namespace {

TEST(EvdevOut, LibvirtXmlGrabsWithKeyboardsAndEscapesPaths) {
  std::vector<InputDevice> devs = {
      {"/dev/input/by-id/usb-R&D_Bob's_Board-event-kbd", InputKind::keyboard, "/dev/input/event3", "Bob's Board"},
      {"/dev/input/by-id/usb-Mouse-event-mouse", InputKind::mouse, "/dev/input/event4", std::nullopt},
  };
  EXPECT_EQ(evdev_inputs_xml(devs, "scrolllock"),
            "<input type='evdev'>\n"
            "  <source dev='/dev/input/by-id/usb-R&amp;D_Bob&apos;s_Board-event-kbd' grab='all' "
            "grabToggle='scrolllock' repeat='on'/>\n"
            "</input>\n"
            "<input type='evdev'>\n"
            "  <source dev='/dev/input/by-id/usb-Mouse-event-mouse'/>\n"
            "</input>\n");
  EXPECT_EQ(evdev_inputs_xml({}, "ctrl-ctrl"), "");
}

TEST(EvdevOut, QemuArgsNumberDevicesAndDoubleCommas) {
  std::vector<InputDevice> devs = {
      {"/dev/input/by-id/usb-A-event-kbd", InputKind::keyboard, "/dev/input/event1", std::nullopt},
      {"/dev/input/by-id/usb-B,C-event-kbd", InputKind::keyboard, "/dev/input/event2", std::nullopt},
      {"/dev/input/by-id/usb-M-event-mouse", InputKind::mouse, "/dev/input/event3", std::nullopt},
  };
  EXPECT_EQ(qemu_evdev_args(devs, "ctrl-ctrl"),
            (std::vector<std::string>{
                "-object", "input-linux,id=kbd1,evdev=/dev/input/by-id/usb-A-event-kbd,grab_all=on,repeat=on",
                "-object", "input-linux,id=kbd2,evdev=/dev/input/by-id/usb-B,,C-event-kbd,grab_all=on,repeat=on",
                "-object", "input-linux,id=mouse1,evdev=/dev/input/by-id/usb-M-event-mouse"}));
  // A toggle other than QEMU's default is passed on; mice never carry one.
  auto args = qemu_evdev_args(devs, "alt-alt");
  ASSERT_EQ(args.size(), 6u);
  EXPECT_EQ(args[1],
            "input-linux,id=kbd1,evdev=/dev/input/by-id/usb-A-event-kbd,grab_all=on,repeat=on,grab-toggle=alt-alt");
  EXPECT_EQ(args[5], "input-linux,id=mouse1,evdev=/dev/input/by-id/usb-M-event-mouse");
}

TEST(EvdevOut, GrabToggleKeysAreLibvirtsValues) {
  EXPECT_EQ(grab_toggle_keys(), (std::vector<std::string>{"ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta",
                                                          "scrolllock", "ctrl-scrolllock"}));
  EXPECT_EQ(grab_toggle_help("ctrl-ctrl"), "both Ctrl keys");
  EXPECT_EQ(grab_toggle_help("ctrl-scrolllock"), "Ctrl+Scroll Lock");
}

TEST(EvdevOut, ElementsGoIntoTheDomainAsNodes) {
  std::vector<InputDevice> devs = {
      {"/dev/input/by-id/usb-A\"<b />-event-kbd", InputKind::keyboard, "/dev/input/event1", std::nullopt},
      {"/dev/input/by-id/usb-Gone-event-mouse", InputKind::mouse, std::nullopt, std::nullopt},
  };
  pugi::xml_document doc;
  pugi::xml_node devices = doc.append_child("devices");
  devices.append_child("disk");
  append_evdev_inputs(devices, devs, "ctrl-ctrl");
  // After what is there; a device without an event node is left out.
  ASSERT_EQ(std::distance(devices.children().begin(), devices.children().end()), 2);
  pugi::xml_node input = devices.last_child();
  EXPECT_STREQ(input.name(), "input");
  EXPECT_STREQ(input.attribute("type").value(), "evdev");
  EXPECT_STREQ(input.child("source").attribute("dev").value(), "/dev/input/by-id/usb-A\"<b />-event-kbd");
  // The serializer escapes what the path holds.
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  EXPECT_NE(out.str().find("dev=\"/dev/input/by-id/usb-A&quot;&lt;b />-event-kbd\""), std::string::npos) << out.str();
  // Text for pasting: only the ends of tags lose their space before "/>".
  EXPECT_EQ(evdev_inputs_xml(devs, "alt-alt"),
            "<input type='evdev'>\n"
            "  <source dev='/dev/input/by-id/usb-A\"&lt;b />-event-kbd' grab='all' grabToggle='alt-alt' "
            "repeat='on'/>\n"
            "</input>\n");
}

}  // namespace
}  // namespace vfioctl
