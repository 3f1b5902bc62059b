// What setup takes from a guest spec (setup/guest_request.h): the hugepage
// pool of --hugepages-for and the qemu.conf request of --for, on fixture
// hosts and the examples.
#include "vfioctl/setup/guest_request.h"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_tree.h"
#include "vfioctl/util/error.h"

namespace vfioctl::setup {
namespace {

const std::string kSource = VFIOCTL_SOURCE_DIR;

TEST(GuestRequest, HugepagesForIsTheGuestsMemoryPlan) {
  Root root(kSource + "/tests/hosts/intel-desktop-z370");
  Host host = read_host(root);
  StaticPages pool = hugepages_for(host, kSource + "/examples/linux-desktop.toml");
  EXPECT_EQ(pool.page_kib, 2048);
  EXPECT_EQ(pool.mib, 8192) << "8G of 2M pages";

  test::TempTree t;
  std::string off = t.str() + "/off.toml";
  std::ofstream(off) << "preset = \"linux-server\"\nos = \"debian12\"\nmemory = \"2G\"\nhugepages = \"off\"\n";
  try {
    hugepages_for(host, off);
    FAIL() << "a guest without hugepages";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(std::string(e.what()),
              "--hugepages-for " + off + ": the guest asks for no hugepages (hugepages = \"off\")");
  }
}

TEST(GuestRequest, QemuConfTakesTheEvdevDevicesAndTheSoundServersUser) {
  Root root(kSource + "/tests/hosts/intel-desktop-z370");
  Host host = read_host(root);
  std::string spec = kSource + "/examples/linux-desktop.toml";
  QemuConfRequest q = qemu_conf_request(root, host, spec, 1000);
  EXPECT_EQ(q.spec, spec);
  EXPECT_EQ(q.devices, (std::vector<std::string>{"/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd",
                                                 "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse"}));
  EXPECT_EQ(q.user, "+1000") << "PulseAudio plays as the user who ran sudo";
  EXPECT_THROW(qemu_conf_request(root, host, spec, 0), Error) << "root's sound server is nobody's";
}

}  // namespace
}  // namespace vfioctl::setup
