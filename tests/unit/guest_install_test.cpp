// What `vfioctl new` does on the host (setup/guest_install.h): the plan's
// images, created with qemu-img through a CommandRunner on the live host only.
#include "vfioctl/setup/guest_install.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "temp_tree.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {
namespace {

class Recorder : public CommandRunner {
 public:
  explicit Recorder(int exit_code = 0) : m_exit(exit_code) {}
  ProcessResult run(const Command& c) override {
    ran.push_back(c.str());
    return {m_exit, m_exit ? "qemu-img: no space left\n" : ""};
  }
  std::vector<std::string> ran;

 private:
  int m_exit;
};

GuestPlan plan_with_image(const std::string& path) {
  GuestPlan plan;
  plan.images.push_back(ImageToCreate{path, "qcow2", 1024});
  return plan;
}

TEST(GuestInstall, UnderAnotherRootImagesAreNotesOnly) {
  test::TempTree t;
  Root root(t.dir());
  Recorder r;
  std::ostringstream log;
  create_images(plan_with_image("/var/lib/libvirt/images/g.qcow2"), root, Distro{}, r, log);
  EXPECT_TRUE(r.ran.empty());
  EXPECT_EQ(log.str(), "vfioctl: note: not creating /var/lib/libvirt/images/g.qcow2 (--root is not this host): " +
                           join(plan_with_image("/var/lib/libvirt/images/g.qcow2").images[0].argv(), " ") + "\n");
}

TEST(GuestInstall, NeverOverAFileThatAppeared) {
  test::TempTree t;
  t.file("/g.qcow2", "mine");
  Root live("/");
  Recorder r;
  std::ostringstream log;
  try {
    create_images(plan_with_image(t.str() + "/g.qcow2"), live, Distro{}, r, log);
    FAIL() << "an image over an existing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("appeared while planning"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(r.ran.empty());
}

TEST(GuestInstall, QemuImgRunsThroughTheRunner) {
  if (!program_exists("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
  test::TempTree t;
  Root live("/");
  std::string path = t.str() + "/g.qcow2";
  GuestPlan plan = plan_with_image(path);
  Recorder r;
  std::ostringstream log;
  create_images(plan, live, Distro{}, r, log);
  EXPECT_EQ(r.ran.size(), 1u);
  EXPECT_EQ(log.str(), "Created " + path + " (qcow2, 1024 MiB).\n");

  Recorder fails(1);
  try {
    create_images(plan, live, Distro{}, fails, log);
    FAIL() << "qemu-img failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("failed: qemu-img: no space left"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vfioctl::setup
