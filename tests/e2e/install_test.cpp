// End-to-end: a guest that installs from an ISO. install_iso.sh builds a
// small bootable ISO (GRUB for BIOS and UEFI, the test kernel, an initramfs
// that reports the guest's disks); `vfioctl new` plans a guest with
// [install] iso and a [[disk]] to create, creates the image with qemu-img and
// defines the domain through libvirt; the guest (UEFI, TCG) skips the empty
// disk, boots from the CD-ROM and sees the created disk in /sys/block; after
// `vfioctl new --installed NAME` the domain has no CD-ROM and still starts.
// Needs root and tests/e2e/env.sh (see tests/e2e/README.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "e2e.h"

namespace {

using namespace vfioctl::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

class Install : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = up();
    ASSERT_TRUE(env_.error.empty()) << env_.error;
    if (!env_.skipped.empty()) GTEST_SKIP() << env_.skipped;
    Result iso = sh(quote(std::string(VFIOCTL_SOURCE_DIR) + "/tests/e2e/install_iso.sh"));
    if (iso.rc == 77 && !ci()) GTEST_SKIP() << trim(iso.out);
    ASSERT_EQ(iso.rc, 0) << iso.out;
    iso_ = trim(iso.out.substr(iso.out.rfind('\n', iso.out.size() - 2) + 1));
    name_ = "vfioctl-e2e-install-" + std::to_string(::getpid());
    dir_ = fs::path(env_.state) / "guests" / name_;
    virsh(env_, "destroy " + name_);
    virsh(env_, "undefine --nvram " + name_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    disk_ = dir_ / "disk.qcow2";
    serial_ = dir_ / "serial.log";
    spec_ = dir_ / "guest.toml";
    std::ofstream(spec_) << "preset = \"linux-server\"\n"
                            "name = \""
                         << name_
                         << "\"\n"
                            "memory = \"256M\"\n"
                            "hugepages = \"off\"\n"
                            "cpus = \"1c1t\"\n"
                            "\n"
                            "[[disk]]\n"
                            "source = \""
                         << disk_.string()
                         << "\"\n"
                            "size = \"64M\"\n"
                            "bus = \"virtio-blk\"\n"
                            "\n"
                            "[install]\n"
                            "iso = \""
                         << iso_
                         << "\"\n"
                            "\n"
                            "[network]\n"
                            "mode = \"none\"\n";
  }

  void TearDown() override {
    if (name_.empty()) return;
    if (HasFailure()) {
      std::cerr << "--- serial log (tail) ---\n"
                << tail(slurp(serial_), 30) << "--- /var/log/libvirt/qemu/" << name_ << ".log (tail) ---\n"
                << tail(slurp("/var/log/libvirt/qemu/" + name_ + ".log"), 15);
    }
    virsh(env_, "destroy " + name_);
    virsh(env_, "undefine --nvram " + name_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Result vfioctl(const std::string& args) const { return sh("LC_ALL=C NO_COLOR=1 " + quote(VFIOCTL_BIN) + " " + args); }

  bool serial_has(const std::string& what) const { return slurp(serial_).find(what) != std::string::npos; }

  Env env_;
  std::string name_, iso_;
  fs::path dir_, disk_, serial_, spec_;
};

TEST_F(Install, BootsTheInstallerSeesTheCreatedDiskAndStartsWithoutMediaAfterInstalled) {
  // 1. Plan, create the image, define.
  auto t0 = Clock::now();
  Result made = vfioctl("new " + quote(spec_.string()) + " --virt-type qemu --define --connect " + quote(env_.uri) +
                        " --test-serial-log " + quote(serial_.string()));
  ASSERT_EQ(made.rc, 0) << made.out;
  EXPECT_NE(made.out.find("Created " + disk_.string() + " (qcow2, 64 MiB)."), std::string::npos) << made.out;
  Result info = sh("qemu-img info --output=json " + quote(disk_.string()));
  EXPECT_NE(info.out.find("\"virtual-size\": 67108864"), std::string::npos) << info.out;
  Result xml = virsh(env_, "dumpxml --inactive " + name_);
  ASSERT_EQ(xml.rc, 0) << xml.out;
  EXPECT_NE(xml.out.find("<disk type='file' device='cdrom'>"), std::string::npos) << xml.out;
  EXPECT_NE(xml.out.find("<source file='" + iso_ + "'"), std::string::npos);
  std::cerr << "[ timing ] plan, qemu-img and define: " << seconds(t0) << " s\n";

  // 2. Boot: the empty disk first, then the CD-ROM; GRUB starts the kernel with vfioctl.from=cdrom.
  auto t1 = Clock::now();
  Result start = virsh(env_, "start " + name_);
  ASSERT_EQ(start.rc, 0) << start.out;
  ASSERT_TRUE(wait_for([&] { return serial_has("VFIOCTL-INSTALL ready"); }, 240s))
      << "no report from the guest within 240 s";
  std::cerr << "[ timing ] start to the guest's report (OVMF, GRUB, kernel under TCG): " << seconds(t1) << " s\n";
  EXPECT_TRUE(serial_has("VFIOCTL-INSTALL booted-from=cdrom"));
  // The created 64 MiB image is the guest's virtio disk: 131072 sectors of 512 bytes.
  EXPECT_TRUE(serial_has("VFIOCTL-INSTALL block vda sectors=131072")) << tail(slurp(serial_), 10);
  ASSERT_EQ(virsh(env_, "destroy " + name_).rc, 0);

  // 3. --installed: the CD-ROM goes, the domain is redefined and still starts.
  Result installed = vfioctl("new --installed " + quote(name_) + " --connect " + quote(env_.uri));
  ASSERT_EQ(installed.rc, 0) << installed.out;
  EXPECT_NE(installed.out.find("Removed 1 CD-ROM(s) (" + iso_ + ") from " + name_), std::string::npos) << installed.out;
  Result after = virsh(env_, "dumpxml --inactive " + name_);
  ASSERT_EQ(after.rc, 0) << after.out;
  EXPECT_EQ(after.out.find("cdrom"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("<boot order='1'/>"), std::string::npos);
  fs::remove(serial_);
  Result again = virsh(env_, "start " + name_);
  ASSERT_EQ(again.rc, 0) << again.out;
  Result state = virsh(env_, "domstate " + name_);
  EXPECT_EQ(trim(state.out), "running");
  // Nothing to boot now (the disk is empty, the CD-ROM gone): the guest never reports.
  EXPECT_FALSE(wait_for([&] { return serial_has("VFIOCTL-INSTALL"); }, 5s));

  // 4. The image is never made again over the existing file.
  auto mtime = fs::last_write_time(disk_);
  ASSERT_EQ(virsh(env_, "destroy " + name_).rc, 0);
  Result twice =
      vfioctl("new " + quote(spec_.string()) + " --virt-type qemu -o " + quote((dir_ / "again.xml").string()));
  EXPECT_EQ(twice.rc, 0) << twice.out;
  EXPECT_EQ(twice.out.find("Created "), std::string::npos) << twice.out;
  EXPECT_EQ(fs::last_write_time(disk_), mtime);
}

}  // namespace
