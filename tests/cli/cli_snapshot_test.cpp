// vfioctl snapshot on the live host: --root on the copy answers exactly as
// the host itself.
#include <gtest/gtest.h>

#include "live_host.h"
#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;

class Snapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs them in parallel.
    m_dir = fs::path(VFIOCTL_BINARY_DIR) / "tests/snapshot-work" /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path m_dir;
};

void expect_same_answers(const std::string& root) {
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"list", "--json"}, {"list"}, {"topo", "--json"}, {"topo"}}) {
    Result live = vfioctl(cmd);
    std::vector<std::string> with_root = {"--root", root};
    with_root.insert(with_root.end(), cmd.begin(), cmd.end());
    Result copy = vfioctl(with_root);
    EXPECT_EQ(live.rc, 0) << live.err;
    EXPECT_EQ(copy.rc, 0) << copy.err;
    EXPECT_EQ(live.out, copy.out) << cmd[0];
    EXPECT_EQ(live.err, copy.err) << cmd[0];
  }
}

TEST_F(Snapshot, DirectoryAnswersLikeTheLiveHost) {
  std::string out = (m_dir / "host").string();
  Result r = vfioctl({"snapshot", "-o", out});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Wrote " + out), std::string::npos);
  expect_same_answers(out);
  // Links are kept as links: this machine's first PCI function, if it has one.
  auto pci = live::pci_functions();
  if (!pci.empty()) {
    EXPECT_TRUE(fs::is_symlink(fs::path(out) / "sys/bus/pci/devices" / pci.front())) << pci.front();
  }
  // Only what the readers read: no config space, no process state.
  if (!pci.empty()) {
    EXPECT_FALSE(fs::exists(fs::path(out) / "sys/bus/pci/devices" / pci.front() / "config")) << pci.front();
  }
  EXPECT_FALSE(fs::exists(fs::path(out) / "proc/self"));
}

TEST_F(Snapshot, TarballAnswersLikeTheLiveHost) {
  std::string tarball = (m_dir / "host.tar.gz").string();
  Result r = vfioctl({"snapshot", "-o", tarball});
  ASSERT_EQ(r.rc, 0) << r.err;
  fs::create_directories(m_dir / "unpacked");
  std::string cmd = "tar -xzf " + quote(tarball) + " -C " + quote((m_dir / "unpacked").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  expect_same_answers((m_dir / "unpacked").string());
}

TEST_F(Snapshot, RefusesToOverwriteAndWritesNothing) {
  std::string tarball = (m_dir / "host.tar.gz").string();
  { std::ofstream(tarball) << "precious"; }
  Result r = vfioctl({"snapshot", "-o", tarball});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
  EXPECT_EQ(slurp(tarball), "precious");
  // No temporary left behind either.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(Snapshot, OutputIsRequired) {
  Result r = vfioctl({"snapshot"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--output"), std::string::npos);
}

}  // namespace
}  // namespace vfioctl::test
