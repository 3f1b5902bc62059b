#include "vfioctl/host/input.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/guest/evdev_out.h"
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
      evdev_inputs_xml(devs, "ctrl-ctrl"),
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

TEST(Input, KindNames) {
  EXPECT_STREQ(input_kind_name(InputKind::keyboard), "keyboard");
  EXPECT_STREQ(input_kind_name(InputKind::mouse), "mouse");
}

}  // namespace
}  // namespace vfioctl
