#include "vfioctl/host/input.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

// A by-id link to an event node, the node, and its sysfs name.
void event_device(const test::TempTree& t, const std::string& by_id, int event, const std::string& name) {
  std::string node = "event" + std::to_string(event);
  t.file("/dev/input/" + node, "");
  t.link("/dev/input/by-id/" + by_id, "../" + node);
  t.file("/sys/class/input/" + node + "/device/name", name);
}

TEST(Input, KeyboardsFirstThenMiceEachByPath) {
  test::TempTree t;
  event_device(t, "usb-Logitech_USB_Receiver-if02-event-mouse", 5, "Logitech USB Receiver Mouse\n");
  event_device(t, "usb-Logitech_USB_Receiver-event-kbd", 3, "Logitech USB Receiver\n");
  event_device(t, "usb-Logitech_USB_Receiver-if01-event-kbd", 4, "  Logitech USB Receiver Consumer Control \n");
  event_device(t, "usb-Apple_Keyboard-event-kbd", 7, "Apple Inc. Apple Keyboard\n");
  Root root(t.dir());
  Notes notes;
  auto devs = read_input_devices(root, notes);
  ASSERT_EQ(devs.size(), 4u);
  EXPECT_EQ(devs[0].path, "/dev/input/by-id/usb-Apple_Keyboard-event-kbd");
  EXPECT_EQ(devs[0].kind, InputKind::keyboard);
  EXPECT_EQ(devs[0].event, "/dev/input/event7");
  EXPECT_EQ(devs[0].name, "Apple Inc. Apple Keyboard");
  EXPECT_EQ(devs[1].path, "/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd");
  EXPECT_EQ(devs[1].event, "/dev/input/event3");
  EXPECT_EQ(devs[2].path, "/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-kbd");
  EXPECT_EQ(devs[2].kind, InputKind::keyboard);
  EXPECT_EQ(devs[2].event, "/dev/input/event4");
  EXPECT_EQ(devs[2].name, "Logitech USB Receiver Consumer Control");  // trimmed
  EXPECT_EQ(devs[3].path, "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse");
  EXPECT_EQ(devs[3].kind, InputKind::mouse);
  EXPECT_EQ(devs[3].event, "/dev/input/event5");
  EXPECT_EQ(devs[3].name, "Logitech USB Receiver Mouse");
  EXPECT_TRUE(notes.empty());
}

TEST(Input, NonEventAliasesAndOtherEventDevicesAreSkipped) {
  test::TempTree t;
  event_device(t, "usb-Logitech_USB_Receiver-if02-event-mouse", 5, "Logitech USB Receiver Mouse\n");
  t.file("/dev/input/mouse0", "");
  t.link("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-mouse", "../mouse0");
  event_device(t, "usb-Xbox_Controller-event-joystick", 9, "Xbox Controller\n");
  t.file("/dev/input/js0", "");
  t.link("/dev/input/by-id/usb-Xbox_Controller-joystick", "../js0");
  Root root(t.dir());
  Notes notes;
  auto devs = read_input_devices(root, notes);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].path, "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse");
  EXPECT_EQ(devs[0].kind, InputKind::mouse);
  EXPECT_TRUE(notes.empty());
}

TEST(Input, DanglingLinkIsKeptWithoutEventAndNoted) {
  test::TempTree t;
  event_device(t, "usb-Good_Keyboard-event-kbd", 2, "Good Keyboard\n");
  t.mkdir("/dev/input");
  t.link("/dev/input/by-id/usb-Gone_Mouse-event-mouse", "../event9");
  Root root(t.dir());
  Notes notes;
  auto devs = read_input_devices(root, notes);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[1].path, "/dev/input/by-id/usb-Gone_Mouse-event-mouse");
  EXPECT_EQ(devs[1].kind, InputKind::mouse);
  EXPECT_FALSE(devs[1].event);
  EXPECT_FALSE(devs[1].name);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].path, "/dev/input/by-id/usb-Gone_Mouse-event-mouse");
  EXPECT_EQ(notes[0].message,
            "links to ../event9, which does not exist (unplugged?); left out of the guest configuration");
  // Only the device that is there goes into the configuration.
  EXPECT_EQ(
      libvirt_evdev_xml(devs, "ctrl-ctrl"),
      "<input type='evdev'>\n"
      "  <source dev='/dev/input/by-id/usb-Good_Keyboard-event-kbd' grab='all' grabToggle='ctrl-ctrl' repeat='on'/>\n"
      "</input>\n");
  EXPECT_EQ(
      qemu_evdev_args(devs, "ctrl-ctrl"),
      (std::vector<std::string>{
          "-object", "input-linux,id=kbd1,evdev=/dev/input/by-id/usb-Good_Keyboard-event-kbd,grab_all=on,repeat=on"}));
}

TEST(Input, MissingNameIsANoteAndEmptyNameIsUnknown) {
  test::TempTree t;
  t.file("/dev/input/event1", "");
  t.link("/dev/input/by-id/usb-A-event-kbd", "../event1");
  event_device(t, "usb-B-event-mouse", 2, "\n");
  Root root(t.dir());
  Notes notes;
  auto devs = read_input_devices(root, notes);
  ASSERT_EQ(devs.size(), 2u);
  EXPECT_EQ(devs[0].event, "/dev/input/event1");
  EXPECT_FALSE(devs[0].name);
  EXPECT_FALSE(devs[1].name);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].path, "/sys/class/input/event1/device/name");
}

TEST(Input, AbsoluteLinksResolveInsideTheRoot) {
  test::TempTree t;
  t.file("/dev/input/event6", "");
  t.link("/dev/input/by-id/usb-A-event-kbd", "/dev/input/event6");
  Root root(t.dir());
  Notes notes;
  auto devs = read_input_devices(root, notes);
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].event, "/dev/input/event6");
}

TEST(Input, MissingOrEmptyByIdDirectoryGivesNothing) {
  test::TempTree t;
  t.mkdir("/sys/class/input");
  Root root(t.dir());
  Notes notes;
  EXPECT_TRUE(read_input_devices(root, notes).empty());
  EXPECT_TRUE(notes.empty());
  t.mkdir("/dev/input/by-id");
  Root again(t.dir());
  EXPECT_TRUE(read_input_devices(again, notes).empty());
  EXPECT_TRUE(notes.empty());
}

TEST(Input, XmlEscapesEveryMarkupCharacter) {
  EXPECT_EQ(xml_escape("a&b<c>d'e\"f"), "a&amp;b&lt;c&gt;d&apos;e&quot;f");
  EXPECT_EQ(xml_escape("usb-Plain_Name-event-kbd"), "usb-Plain_Name-event-kbd");
}

TEST(Input, LibvirtXmlGrabsWithKeyboardsAndEscapesPaths) {
  std::vector<InputDevice> devs = {
      {"/dev/input/by-id/usb-R&D_Bob's_Board-event-kbd", InputKind::keyboard, "/dev/input/event3", "Bob's Board"},
      {"/dev/input/by-id/usb-Mouse-event-mouse", InputKind::mouse, "/dev/input/event4", std::nullopt},
  };
  EXPECT_EQ(libvirt_evdev_xml(devs, "scrolllock"),
            "<input type='evdev'>\n"
            "  <source dev='/dev/input/by-id/usb-R&amp;D_Bob&apos;s_Board-event-kbd' grab='all' "
            "grabToggle='scrolllock' repeat='on'/>\n"
            "</input>\n"
            "<input type='evdev'>\n"
            "  <source dev='/dev/input/by-id/usb-Mouse-event-mouse'/>\n"
            "</input>\n");
  EXPECT_EQ(libvirt_evdev_xml({}, "ctrl-ctrl"), "");
}

TEST(Input, QemuArgsNumberDevicesAndDoubleCommas) {
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

TEST(Input, GrabToggleKeysAreLibvirtsValues) {
  EXPECT_EQ(grab_toggle_keys(), (std::vector<std::string>{"ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta",
                                                          "scrolllock", "ctrl-scrolllock"}));
  EXPECT_EQ(grab_toggle_help("ctrl-ctrl"), "both Ctrl keys");
  EXPECT_EQ(grab_toggle_help("ctrl-scrolllock"), "Ctrl+Scroll Lock");
  EXPECT_STREQ(input_kind_name(InputKind::keyboard), "keyboard");
  EXPECT_STREQ(input_kind_name(InputKind::mouse), "mouse");
}

}  // namespace
}  // namespace vfioctl
