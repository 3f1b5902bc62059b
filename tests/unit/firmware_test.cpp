// The firmware finder: QEMU's descriptors of real distributions
// (tests/firmware/, sources in its README), the choice for plain UEFI and
// for Secure Boot with Microsoft's keys, /etc overriding /usr/share, and
// what an untrusted tree may hold: malformed descriptors, paths that try to
// leave the root, missing files, no descriptors at all.
#include "vfioctl/host/firmware.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/limits.h"

namespace vfioctl {
namespace {

const std::string kFirmware = std::string(VFIOCTL_SOURCE_DIR) + "/tests/firmware/";

FirmwareCatalog catalog_of(const std::string& dir, Notes& notes) {
  Root root(dir);
  return read_firmware(root, notes);
}

bool noted(const Notes& notes, const std::string& path, const std::string& part) {
  for (const auto& n : notes) {
    if (n.path == path && n.message.find(part) != std::string::npos) return true;
  }
  return false;
}

// A descriptor like the distributions' (written here, not copied).
std::string descriptor(const std::string& code, const std::string& vars, const std::string& features,
                       const std::string& format = "raw") {
  return "{\"description\": \"test\", \"interface-types\": [\"uefi\"], \"mapping\": {\"device\": \"flash\", "
         "\"executable\": {\"filename\": \"" +
         code + "\", \"format\": \"" + format + "\"}, \"nvram-template\": {\"filename\": \"" + vars +
         "\", \"format\": \"" + format +
         "\"}}, \"targets\": [{\"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"]}], \"features\": [" +
         features + "], \"tags\": []}";
}

TEST(Firmware, Debian12PlainAndSecureBootFromItsDescriptors) {
  Notes notes;
  FirmwareCatalog c = catalog_of(kFirmware + "debian-12", notes);
  EXPECT_TRUE(notes.empty());
  ASSERT_EQ(c.descriptors.size(), 3u);
  EXPECT_EQ(c.descriptors[0].file, "/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json");
  // The code file of the enrolled descriptor is a link in the package: followed inside the root.
  EXPECT_TRUE(c.descriptors[0].executable.exists);

  auto plain = choose_firmware(c, FirmwareNeed::uefi);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->code.path, "/usr/share/OVMF/OVMF_CODE_4M.fd");
  EXPECT_EQ(plain->vars_template.path, "/usr/share/OVMF/OVMF_VARS_4M.fd");
  EXPECT_EQ(plain->code.format, "raw");
  EXPECT_EQ(plain->how(), "firmware descriptor /usr/share/qemu/firmware/60-edk2-x86_64.json");

  auto ms = choose_firmware(c, FirmwareNeed::uefi_secure_ms);
  ASSERT_TRUE(ms);
  EXPECT_EQ(ms->code.path, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
  EXPECT_EQ(ms->vars_template.path, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  EXPECT_EQ(ms->descriptor, "/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json");
}

TEST(Firmware, ArchPlainFromItsDescriptorAndNoEnrolledKeys) {
  Notes notes;
  FirmwareCatalog c = catalog_of(kFirmware + "arch", notes);
  ASSERT_EQ(c.descriptors.size(), 2u);
  // The Secure Boot build names /usr/share/edk2-ovmf/x64/, a link to /usr/share/edk2 (absolute,
  // resolved inside the root).
  EXPECT_TRUE(c.descriptors[0].executable.exists);
  auto plain = choose_firmware(c, FirmwareNeed::uefi);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->code.path, "/usr/share/edk2/x64/OVMF_CODE.csm.4m.fd");
  EXPECT_EQ(plain->vars_template.path, "/usr/share/edk2/x64/OVMF_VARS.4m.fd");
  EXPECT_EQ(plain->how(), "firmware descriptor /usr/share/qemu/firmware/70-edk2-ovmf-x86_64-csm-4m.json");
  // Arch ships no template with keys enrolled, and no known pair of that kind.
  EXPECT_FALSE(choose_firmware(c, FirmwareNeed::uefi_secure_ms));
}

TEST(Firmware, EtcOverridesAndAnEmptyFileHides) {
  test::TempTree t;
  t.file("/usr/share/qemu/firmware/50-a.json", descriptor("/fw/a-code.fd", "/fw/a-vars.fd", ""));
  t.file("/usr/share/qemu/firmware/60-b.json", descriptor("/fw/b-code.fd", "/fw/b-vars.fd", ""));
  for (const char* f :
       {"/fw/a-code.fd", "/fw/a-vars.fd", "/fw/b-code.fd", "/fw/b-vars.fd", "/fw/c-code.fd", "/fw/c-vars.fd"})
    t.file(f, "");
  Notes notes;
  EXPECT_EQ(catalog_of(t.dir(), notes).descriptors.size(), 2u);
  EXPECT_EQ(choose_firmware(catalog_of(t.dir(), notes), FirmwareNeed::uefi)->code.path, "/fw/a-code.fd");
  // Same name in /etc: it replaces the distribution's.
  t.file("/etc/qemu/firmware/50-a.json", descriptor("/fw/c-code.fd", "/fw/c-vars.fd", ""));
  auto c = catalog_of(t.dir(), notes);
  EXPECT_EQ(choose_firmware(c, FirmwareNeed::uefi)->code.path, "/fw/c-code.fd");
  EXPECT_EQ(choose_firmware(c, FirmwareNeed::uefi)->descriptor, "/etc/qemu/firmware/50-a.json");
  // Empty: hides it; the next one in order takes over.
  t.file("/etc/qemu/firmware/50-a.json", "");
  c = catalog_of(t.dir(), notes);
  EXPECT_EQ(c.descriptors.size(), 1u);
  EXPECT_EQ(choose_firmware(c, FirmwareNeed::uefi)->code.path, "/fw/b-code.fd");
  EXPECT_TRUE(notes.empty());
}

TEST(Firmware, MalformedDescriptorsAreNotesNotCrashes) {
  test::TempTree t;
  t.file("/usr/share/qemu/firmware/10-truncated.json", "{\"interface-types\": [\"uefi\"], \"mapping\": {");
  t.file("/usr/share/qemu/firmware/20-array.json", "[1, 2, 3]");
  t.file("/usr/share/qemu/firmware/30-deep.json", std::string(100, '[') + std::string(100, ']'));
  t.file("/usr/share/qemu/firmware/40-nomapping.json", "{\"interface-types\": [\"uefi\"]}");
  t.file("/usr/share/qemu/firmware/45-types.json",
         "{\"interface-types\": \"uefi\", \"mapping\": {\"device\": \"flash\"}}");
  t.file("/usr/share/qemu/firmware/50-big.json", std::string(limits::kFirmwareDescriptorBytes + 1, ' '));
  t.file("/usr/share/qemu/firmware/README", "not a descriptor, not read");
  t.file("/usr/share/OVMF/OVMF_CODE_4M.fd", "");
  t.file("/usr/share/OVMF/OVMF_VARS_4M.fd", "");
  Notes notes;
  FirmwareCatalog c = catalog_of(t.dir(), notes);
  EXPECT_TRUE(c.descriptors.empty());
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/10-truncated.json", "not JSON"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/20-array.json", "not a JSON object"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/30-deep.json", "not JSON"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/40-nomapping.json", "no mapping"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/45-types.json", "no interface-types"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/50-big.json", "larger than 64 KiB"));
  EXPECT_EQ(notes.size(), 6u);
  // Nothing from descriptors: Debian's known files.
  auto plain = choose_firmware(c, FirmwareNeed::uefi);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->code.path, "/usr/share/OVMF/OVMF_CODE_4M.fd");
  EXPECT_EQ(plain->how(), "known path of Debian, Ubuntu; no firmware descriptor matched");
}

TEST(Firmware, PathsOutsideTheRootOrMissingAreNotUsed) {
  test::TempTree t;
  // ".." in a descriptor: refused outright.
  t.file("/usr/share/qemu/firmware/10-dotdot.json",
         descriptor("/usr/share/../../../../etc/passwd", "/usr/share/OVMF/OVMF_VARS_4M.fd", ""));
  // A link to an absolute path: resolved inside the root, where nothing is.
  t.link("/usr/share/fw/code.fd", "/bin/sh");
  t.file("/usr/share/fw/vars.fd", "");
  t.file("/usr/share/qemu/firmware/20-link.json", descriptor("/usr/share/fw/code.fd", "/usr/share/fw/vars.fd", ""));
  // A relative path: refused.
  t.file("/usr/share/qemu/firmware/30-relative.json", descriptor("code.fd", "vars.fd", ""));
  // A missing template.
  t.file("/usr/share/fw/code2.fd", "");
  t.file("/usr/share/qemu/firmware/40-missing.json",
         descriptor("/usr/share/fw/code2.fd", "/usr/share/fw/nowhere.fd", ""));
  Notes notes;
  FirmwareCatalog c = catalog_of(t.dir(), notes);
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/10-dotdot.json", "not a plain absolute path"));
  EXPECT_TRUE(noted(notes, "/usr/share/qemu/firmware/30-relative.json", "not a plain absolute path"));
  ASSERT_EQ(c.descriptors.size(), 2u);
  EXPECT_FALSE(c.descriptors[0].executable.exists);
  std::vector<std::string> skipped;
  EXPECT_FALSE(choose_firmware(c, FirmwareNeed::uefi, &skipped));
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         "/usr/share/qemu/firmware/20-link.json: /usr/share/fw/code.fd is missing",
                         "/usr/share/qemu/firmware/40-missing.json: /usr/share/fw/nowhere.fd is missing",
                     }));
}

TEST(Firmware, NoDescriptorsFallsBackToKnownPaths) {
  test::TempTree t;
  t.file("/usr/share/edk2/ovmf/OVMF_CODE.fd", "");
  t.file("/usr/share/edk2/ovmf/OVMF_VARS.fd", "");
  t.file("/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "");
  t.file("/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", "");
  Notes notes;
  FirmwareCatalog c = catalog_of(t.dir(), notes);
  EXPECT_TRUE(c.descriptors.empty());
  auto plain = choose_firmware(c, FirmwareNeed::uefi);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->code.path, "/usr/share/edk2/ovmf/OVMF_CODE.fd");
  EXPECT_EQ(plain->how(), "known path of Fedora; no firmware descriptor matched");
  auto ms = choose_firmware(c, FirmwareNeed::uefi_secure_ms);
  ASSERT_TRUE(ms);
  EXPECT_EQ(ms->vars_template.path, "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd");
  // Nothing at all.
  test::TempTree empty;
  empty.file("/etc/os-release", "ID=arch\n");
  EXPECT_FALSE(choose_firmware(catalog_of(empty.dir(), notes), FirmwareNeed::uefi));
  EXPECT_TRUE(notes.empty());
}

// qcow2 firmware (as Fedora's edk2-ovmf ships some): chosen with its format,
// which the writers pass on; a format QEMU's pflash cannot take is skipped.
TEST(Firmware, FormatsAreKeptAndOddOnesSkipped) {
  test::TempTree t;
  t.file("/usr/share/qemu/firmware/20-vmdk.json",
         descriptor("/fw/code.vmdk", "/fw/vars.vmdk", "\"secure-boot\", \"enrolled-keys\", \"requires-smm\"", "vmdk"));
  t.file(
      "/usr/share/qemu/firmware/30-qcow2.json",
      descriptor("/fw/code.qcow2", "/fw/vars.qcow2", "\"secure-boot\", \"enrolled-keys\", \"requires-smm\"", "qcow2"));
  t.file("/usr/share/qemu/firmware/40-sb-no-keys.json",
         descriptor("/fw/code.fd", "/fw/vars.fd", "\"secure-boot\", \"requires-smm\""));
  for (const char* f :
       {"/fw/code.vmdk", "/fw/vars.vmdk", "/fw/code.qcow2", "/fw/vars.qcow2", "/fw/code.fd", "/fw/vars.fd"})
    t.file(f, "");
  Notes notes;
  FirmwareCatalog c = catalog_of(t.dir(), notes);
  std::vector<std::string> skipped;
  auto ms = choose_firmware(c, FirmwareNeed::uefi_secure_ms, &skipped);
  ASSERT_TRUE(ms);
  EXPECT_EQ(ms->code.path, "/fw/code.qcow2");
  EXPECT_EQ(ms->code.format, "qcow2");
  EXPECT_EQ(ms->vars_template.format, "qcow2");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], "/usr/share/qemu/firmware/20-vmdk.json: /fw/code.vmdk: format 'vmdk', not raw or qcow2");
  // Secure Boot without enrolled keys serves neither need.
  EXPECT_FALSE(choose_firmware(c, FirmwareNeed::uefi));
}

}  // namespace
}  // namespace vfioctl
