#include "vfioctl/host/root.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

TEST(Root, ReadsUnderItsDirectory) {
  test::TempTree t;
  t.file("/proc/cmdline", "quiet intel_iommu=on\n");
  Root root(t.dir());
  root.set_recording(Recording::on);
  EXPECT_EQ(root.read("/proc/cmdline"), "quiet intel_iommu=on\n");
  EXPECT_FALSE(root.read("/proc/missing"));
  EXPECT_FALSE(root.read("/proc"));  // a directory is not a file
  EXPECT_FALSE(root.is_live());
}

TEST(Root, ListsSortedAndRecordsWhatWasTouched) {
  test::TempTree t;
  t.file("/sys/a/c", "");
  t.file("/sys/a/b", "");
  Root root(t.dir());
  root.set_recording(Recording::on);
  EXPECT_EQ(root.list("/sys/a"), (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(root.list("/sys/none"));
  EXPECT_TRUE(root.exists("/sys/a/b"));
  EXPECT_EQ(root.touched().at("/sys/a"), Touch::dir);
  EXPECT_EQ(root.touched().at("/sys/a/b"), Touch::exists);
  root.read("/sys/a/b");
  EXPECT_EQ(root.touched().at("/sys/a/b"), Touch::file);  // the stronger kind wins
}

TEST(Root, ResolvesLinksInsideTheRoot) {
  test::TempTree t;
  t.file("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/vendor", "0x10de\n");
  t.link("/sys/bus/pci/devices/0000:01:00.0", "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
  // An absolute link must restart at the root, never at the real "/".
  t.link("/sys/abs", "/sys/devices");
  Root root(t.dir());
  root.set_recording(Recording::on);
  EXPECT_EQ(root.resolve("/sys/bus/pci/devices/0000:01:00.0"), "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0");
  EXPECT_EQ(root.resolve("/sys/abs/pci0000:00"), "/sys/devices/pci0000:00");
  EXPECT_EQ(root.read("/sys/bus/pci/devices/0000:01:00.0/vendor"), "0x10de\n");
  EXPECT_FALSE(root.resolve("/sys/bus/pci/devices/0000:02:00.0"));
  EXPECT_EQ(root.link_name("/sys/bus/pci/devices/0000:01:00.0"), "0000:01:00.0");
}

TEST(Root, LinkLoopsEndInsteadOfHanging) {
  test::TempTree t;
  t.link("/sys/a", "b");
  t.link("/sys/b", "a");
  Root root(t.dir());
  root.set_recording(Recording::on);
  EXPECT_FALSE(root.resolve("/sys/a"));
}

TEST(Root, OpenRejectsWhatIsNotAHostTree) {
  test::TempTree t;
  try {
    Root::open(t.str() + "/missing");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("missing: no such directory"), std::string::npos);
  }
  t.mkdir("/etc");
  try {
    Root::open(t.str());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a host tree"), std::string::npos);
  }
  t.mkdir("/sys");
  EXPECT_NO_THROW(Root::open(t.str()));
}

TEST(Root, PathHelpers) {
  EXPECT_EQ(join_path("/sys", "bus"), "/sys/bus");
  EXPECT_EQ(join_path("/sys/", "bus"), "/sys/bus");
  EXPECT_EQ(base_name("/a/b/c"), "c");
  EXPECT_EQ(base_name("../../drivers/nouveau"), "nouveau");
  EXPECT_EQ(dir_name("/a/b/c"), "/a/b");
  EXPECT_EQ(dir_name("/a"), "/");
}

}  // namespace
}  // namespace vfioctl

namespace vfioctl {
namespace {

TEST(Root, RecordsNothingUnlessAsked) {
  test::TempTree t;
  t.file("/proc/cmdline", "quiet\n");
  Root root(t.dir());
  root.read("/proc/cmdline");
  EXPECT_TRUE(root.touched().empty());
}

}  // namespace
}  // namespace vfioctl
