// vfioctl evdev on scratch roots: what is listed, the libvirt XML and QEMU
// arguments printed, the JSON form, and a host without keyboards.
#include <gtest/gtest.h>

#include "../unit/temp_tree.h"
#include "run.h"

namespace vfioctl::test {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

void event_device(const TempTree& t, const std::string& by_id, int event, const std::string& name) {
  std::string node = "event" + std::to_string(event);
  t.file("/dev/input/" + node, "");
  t.link("/dev/input/by-id/" + by_id, "../" + node);
  t.file("/sys/class/input/" + node + "/device/name", name + "\n");
}

// A desk with a Logitech receiver: one keyboard, one mouse, and the mouse's
// non-event alias (mouse0), which is no evdev device.
void logitech_desk(const TempTree& t) {
  event_device(t, "usb-Logitech_USB_Receiver-event-kbd", 3, "Logitech USB Receiver");
  event_device(t, "usb-Logitech_USB_Receiver-if02-event-mouse", 5, "Logitech USB Receiver Mouse");
  t.file("/dev/input/mouse0", "");
  t.link("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-mouse", "../mouse0");
}

const std::string kKbd = "/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd";
const std::string kMouse = "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse";

const std::string kNothing =
    "No keyboard or mouse found under /dev/input/by-id (usual on a headless server or inside a\n"
    "virtual machine): nothing to hand to a guest. Plug one in and run again.\n";

TEST(CliEvdev, TextListsDevicesThenLibvirtXmlThenQemuArguments) {
  TempTree t;
  logitech_desk(t);
  Result r = vfioctl({"--root", t.str(), "evdev"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "1 keyboard and 1 mouse under /dev/input/by-id\n"
            "  keyboard  " +
                kKbd +
                "  -> /dev/input/event3  Logitech USB Receiver\n"
                "  mouse     " +
                kMouse +
                "  -> /dev/input/event5  Logitech USB Receiver Mouse\n"
                "\n"
                "libvirt 7.4 or later: paste into <devices> of the domain ('virsh edit NAME'):\n"
                "<input type='evdev'>\n"
                "  <source dev='" +
                kKbd +
                "' grab='all' grabToggle='ctrl-ctrl' repeat='on'/>\n"
                "</input>\n"
                "<input type='evdev'>\n"
                "  <source dev='" +
                kMouse +
                "'/>\n"
                "</input>\n"
                "\n"
                "Plain QEMU: add these arguments:\n"
                "  -object input-linux,id=kbd1,evdev=" +
                kKbd +
                ",grab_all=on,repeat=on \\\n"
                "  -object input-linux,id=mouse1,evdev=" +
                kMouse +
                "\n"
                "\n"
                "Press both Ctrl keys (ctrl-ctrl; change with --grab-toggle) to move keyboard and mouse between host "
                "and guest.\n"
                "libvirt grants the guest these <input> paths itself; qemu.conf's cgroup_device_acl must list them\n"
                "only when the QEMU arguments are passed through <qemu:commandline> instead.\n");
}

TEST(CliEvdev, JsonCarriesDevicesXmlArgumentsAndNotes) {
  TempTree t;
  logitech_desk(t);
  Result r = vfioctl({"--root", t.str(), "evdev", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json doc = r.json();
  EXPECT_EQ(doc["devices"], json::parse(R"([
    {"path": "/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd", "kind": "keyboard",
     "event": "/dev/input/event3", "name": "Logitech USB Receiver"},
    {"path": "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse", "kind": "mouse",
     "event": "/dev/input/event5", "name": "Logitech USB Receiver Mouse"}
  ])"));
  EXPECT_EQ(doc["libvirt_xml"],
            "<input type='evdev'>\n"
            "  <source dev='" +
                kKbd +
                "' grab='all' grabToggle='ctrl-ctrl' repeat='on'/>\n"
                "</input>\n"
                "<input type='evdev'>\n"
                "  <source dev='" +
                kMouse +
                "'/>\n"
                "</input>\n");
  EXPECT_EQ(doc["qemu_args"], json::array({"-object", "input-linux,id=kbd1,evdev=" + kKbd + ",grab_all=on,repeat=on",
                                           "-object", "input-linux,id=mouse1,evdev=" + kMouse}));
  EXPECT_EQ(doc["notes"], json::array());
  EXPECT_EQ(doc.size(), 4u);
}

TEST(CliEvdev, GrabToggleReachesXmlQemuAndTheHint) {
  TempTree t;
  logitech_desk(t);
  Result r = vfioctl({"--root", t.str(), "evdev", "--grab-toggle", "scrolllock"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "  <source dev='" + kKbd + "' grab='all' grabToggle='scrolllock' repeat='on'/>\n"));
  EXPECT_TRUE(
      has(r.out, "  -object input-linux,id=kbd1,evdev=" + kKbd + ",grab_all=on,repeat=on,grab-toggle=scrolllock \\\n"));
  EXPECT_TRUE(has(r.out, "  -object input-linux,id=mouse1,evdev=" + kMouse + "\n"));
  EXPECT_TRUE(has(r.out, "Press Scroll Lock (scrolllock; change with --grab-toggle)"));
  EXPECT_FALSE(has(r.out, "ctrl-ctrl"));
}

TEST(CliEvdev, BadGrabToggleIsExitTwoNamingTheAllowedOnes) {
  TempTree t;
  logitech_desk(t);
  Result r = vfioctl({"--root", t.str(), "evdev", "--grab-toggle", "ctrl"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "vfioctl: error: --grab-toggle: ctrl not in "
            "{ctrl-ctrl,alt-alt,shift-shift,meta-meta,scrolllock,ctrl-scrolllock}\n"
            "Run 'vfioctl evdev --help' for usage.\n");
}

TEST(CliEvdev, MarkupInNamesIsEscapedInXmlAndQuotedForTheShell) {
  TempTree t;
  event_device(t, "usb-R&D_Bob's_Board-event-kbd", 3, "Bob's Board");
  Result r = vfioctl({"--root", t.str(), "evdev"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out,
                  "  <source dev='/dev/input/by-id/usb-R&amp;D_Bob&apos;s_Board-event-kbd' grab='all' "
                  "grabToggle='ctrl-ctrl' repeat='on'/>\n"));
  EXPECT_TRUE(has(r.out,
                  "  -object 'input-linux,id=kbd1,evdev=/dev/input/by-id/usb-R&D_Bob'\\''s_Board-event-kbd,"
                  "grab_all=on,repeat=on'\n"));
  // JSON keeps the path as it is; only the XML text is escaped.
  Result j = vfioctl({"--root", t.str(), "evdev", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  EXPECT_EQ(j.json()["devices"][0]["path"], "/dev/input/by-id/usb-R&D_Bob's_Board-event-kbd");
}

TEST(CliEvdev, DanglingLinkIsListedButLeftOutOfTheConfiguration) {
  TempTree t;
  logitech_desk(t);
  t.link("/dev/input/by-id/usb-Gone_Keyboard-event-kbd", "../event9");
  Result r = vfioctl({"--root", t.str(), "-v", "evdev"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(
      has(r.out,
          "2 keyboards and 1 mouse under /dev/input/by-id\n"
          "  keyboard  /dev/input/by-id/usb-Gone_Keyboard-event-kbd  -> nothing (link leads nowhere; unplugged?)\n"));
  EXPECT_FALSE(has(r.out, "<source dev='/dev/input/by-id/usb-Gone_Keyboard"));
  EXPECT_TRUE(has(r.out, "  -object input-linux,id=kbd1,evdev=" + kKbd + ","));
  EXPECT_EQ(r.err,
            "vfioctl: note: /dev/input/by-id/usb-Gone_Keyboard-event-kbd: links to ../event9, which does not "
            "exist (unplugged?); left out of the guest configuration\n");
  Result j = vfioctl({"--root", t.str(), "evdev", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  json doc = j.json();
  ASSERT_EQ(doc["devices"].size(), 3u);
  EXPECT_EQ(doc["devices"][0]["path"], "/dev/input/by-id/usb-Gone_Keyboard-event-kbd");
  EXPECT_TRUE(doc["devices"][0]["event"].is_null());
  EXPECT_TRUE(doc["devices"][0]["name"].is_null());
  EXPECT_EQ(doc["qemu_args"].size(), 4u);
  ASSERT_EQ(doc["notes"].size(), 1u);
  EXPECT_EQ(doc["notes"][0]["path"], "/dev/input/by-id/usb-Gone_Keyboard-event-kbd");
}

TEST(CliEvdev, RootWithoutByIdSaysNothingWasFound) {
  TempTree t;
  t.mkdir("/sys/class/input");
  Result r = vfioctl({"--root", t.str(), "evdev"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, kNothing);
  EXPECT_EQ(r.err, "");
  Result j = vfioctl({"--root", t.str(), "evdev", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  EXPECT_EQ(j.json(), json::parse(R"({"devices": [], "libvirt_xml": "", "qemu_args": [], "notes": []})"));
}

TEST(CliEvdev, LiveHostRunsToTheEnd) {
  Result r = vfioctl({"evdev"});
  EXPECT_EQ(r.rc, 0) << r.err;
  Result j = vfioctl({"evdev", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  std::error_code ec;
  if (!std::filesystem::exists("/dev/input/by-id", ec)) {
    // A server or a container: the plain answer, and an empty JSON list.
    EXPECT_EQ(r.out, kNothing);
    EXPECT_EQ(j.json()["devices"], json::array());
  } else {
    EXPECT_TRUE(has(r.out, "under /dev/input/by-id")) << r.out;
    EXPECT_TRUE(j.json()["devices"].is_array());
  }
}

TEST(CliEvdev, HelpTeachesTheTogglesWithExamples) {
  Result r = vfioctl({"evdev", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(has(r.out, "  ctrl-scrolllock Ctrl+Scroll Lock\n"));
  EXPECT_TRUE(has(r.out, "  ctrl-ctrl       both Ctrl keys\n"));
  EXPECT_TRUE(has(r.out, "Examples:\n  vfioctl evdev\n"));
  Result top = vfioctl({"--help"});
  EXPECT_TRUE(
      has(top.out, "  evdev       keyboards and mice for evdev passthrough, with libvirt XML and QEMU arguments\n"));
}

}  // namespace
}  // namespace vfioctl::test
