// The libvirt hook's file (setup/libvirt_hook.h): what install and uninstall
// change, what they refuse, and the script libvirt runs.
#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/access.h"
#include "vfioctl/setup/libvirt_hook.h"
#include "vfioctl/util/error.h"

namespace vfioctl::setup {
namespace {

TEST(HookInstall, WritesAnExecutableScriptThatRunsThisVfioctl) {
  test::TempTree t;
  Root root(t.dir());
  HookChange h = plan_libvirt_hook(root, std::string("/opt/my tools/vfioctl"));
  EXPECT_EQ(h.change.path, kLibvirtHookFile);
  EXPECT_FALSE(h.change.before);
  ASSERT_TRUE(h.change.after);
  EXPECT_EQ(h.change.mode.mode, 0755u);
  EXPECT_NE(h.change.after->find(kLibvirtHookMarker), std::string::npos);
  EXPECT_NE(h.change.after->find("exec '/opt/my tools/vfioctl' hook run \"$@\"\n"), std::string::npos)
      << *h.change.after;
  EXPECT_EQ(h.notes.size(), 2u);

  EXPECT_FALSE(libvirt_hook_installed(root));
  // Installed already: nothing changes.
  t.file(kLibvirtHookFile, *h.change.after);
  EXPECT_TRUE(libvirt_hook_installed(root));
  t.file("/etc/libvirt/hooks/qemu", "#!/bin/sh\n");
  HookChange again = plan_libvirt_hook(root, std::string("/opt/my tools/vfioctl"));
  EXPECT_EQ(again.change.before, again.change.after);
  ASSERT_EQ(again.notes.size(), 3u);
  EXPECT_NE(again.notes[0].find("/etc/libvirt/hooks/qemu exists and stays"), std::string::npos);

  HookChange remove = plan_libvirt_hook(root, std::nullopt);
  EXPECT_TRUE(remove.change.before);
  EXPECT_FALSE(remove.change.after);
  EXPECT_EQ(remove.change.why, "remove the vfioctl libvirt hook");
}

TEST(HookInstall, RefusesAFileOfSomeoneElseAndARelativeBinary) {
  test::TempTree t;
  Root root(t.dir());
  EXPECT_THROW(plan_libvirt_hook(root, std::string("vfioctl")), Error);
  EXPECT_FALSE(plan_libvirt_hook(root, std::nullopt).change.before) << "not installed: nothing to remove";
  t.file(kLibvirtHookFile, "#!/bin/sh\necho mine\n");
  EXPECT_FALSE(libvirt_hook_installed(root)) << "someone else's file is not our hook";
  for (auto binary : {std::optional<std::string>("/usr/bin/vfioctl"), std::optional<std::string>()}) {
    try {
      plan_libvirt_hook(root, binary);
      FAIL() << "someone else's hook";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::refused);
      EXPECT_NE(std::string(e.what()).find("was not written by vfioctl"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(libvirtd_running(root)) << "a --root tree runs nothing";
}

}  // namespace
}  // namespace vfioctl::setup
