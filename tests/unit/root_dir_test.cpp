// The resolver behind every --root (util/root_dir.h) and Root's readers on
// crafted trees: absolute links, ".." links and link chains that lead out of
// the root must resolve inside it, with the kernel's openat2 and with the
// component walk alike.
#include "vfioctl/util/root_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

namespace fs = std::filesystem;

const std::string kCanary = "OUTSIDE\n";

std::string read_fd(int fd) {
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

class Resolve : public ::testing::TestWithParam<Resolver> {
 protected:
  void SetUp() override {
    set_resolver(GetParam());
    // outside/ stands for this machine; root/ is the crafted tree.
    m_outside = t.dir() / "outside";
    fs::create_directories(m_outside / "dir");
    std::ofstream(m_outside / "secret") << kCanary;
    std::ofstream(m_outside / "dir/file") << kCanary;
    m_root = t.dir() / "root";
    fs::create_directories(m_root / "etc");
    fs::create_directories(m_root / "sys/devices/d0");
    std::ofstream(m_root / "sys/devices/d0/vendor") << "0x10de\n";
    fs::create_symlink(m_outside / "secret", m_root / "etc/abs");  // absolute, out
    fs::create_symlink("../../../../../../../../" + (m_outside / "secret").string().substr(1),
                       m_root / "etc/dotdot");                              // .. out
    fs::create_symlink(m_outside / "dir", m_root / "etc/dirlink");          // a directory, out
    fs::create_symlink("/etc/abs", m_root / "etc/chain");                   // a chain
    fs::create_symlink("/sys/devices/d0", m_root / "etc/device");           // absolute, in
    fs::create_symlink("../sys/devices/d0/vendor", m_root / "etc/vendor");  // relative, in
    fs::create_symlink("loop2", m_root / "etc/loop1");
    fs::create_symlink("loop1", m_root / "etc/loop2");
  }
  void TearDown() override { set_resolver(Resolver::kernel); }

  test::TempTree t;
  fs::path m_outside, m_root;
};

TEST_P(Resolve, LinksOutOfTheRootNameFilesInsideIt) {
  RootDir r(m_root.string());
  for (const char* p : {"/etc/abs", "/etc/dotdot", "/etc/chain", "/etc/dirlink/file", "/../../etc/abs"}) {
    int fd = r.open(p, O_RDONLY);
    EXPECT_LT(fd, 0) << p << " opened " << (fd >= 0 ? read_fd(fd) : "");
  }
  // The same names inside the root are what they reach.
  fs::create_directories(m_root / m_outside.string().substr(1) / "dir");
  std::ofstream(m_root / m_outside.string().substr(1) / "secret") << "inside\n";
  std::ofstream(m_root / m_outside.string().substr(1) / "dir/file") << "inside too\n";
  EXPECT_EQ(read_fd(r.open("/etc/abs", O_RDONLY)), "inside\n");
  EXPECT_EQ(read_fd(r.open("/etc/dotdot", O_RDONLY)), "inside\n");
  EXPECT_EQ(read_fd(r.open("/etc/chain", O_RDONLY)), "inside\n");
  EXPECT_EQ(read_fd(r.open("/etc/dirlink/file", O_RDONLY)), "inside too\n");
}

TEST_P(Resolve, LinksInsideTheRootWorkAsOnAHost) {
  RootDir r(m_root.string());
  EXPECT_EQ(read_fd(r.open("/etc/device/vendor", O_RDONLY)), "0x10de\n");
  EXPECT_EQ(read_fd(r.open("/etc/vendor", O_RDONLY)), "0x10de\n");
  EXPECT_EQ(read_fd(r.open("/sys/devices/d0/../d0/./vendor", O_RDONLY)), "0x10de\n");
  int fd = r.open("/etc/loop1", O_RDONLY);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, ELOOP);
  // O_NOFOLLOW applies to the last component only.
  EXPECT_LT(r.open("/etc/vendor", O_RDONLY | O_NOFOLLOW), 0);
}

TEST_P(Resolve, RealPathsHoldNoLinkAndStayInside) {
  RootDir r(m_root.string());
  const std::string in = m_outside.string();
  EXPECT_EQ(r.resolve("/etc/device/vendor"), "/sys/devices/d0/vendor");
  EXPECT_EQ(r.resolve("/etc/abs"), in + "/secret") << "the absolute target, inside the root";
  EXPECT_EQ(r.resolve("/etc/dotdot"), in + "/secret");
  EXPECT_EQ(r.resolve("/etc/dirlink/new/file"), in + "/dir/new/file") << "missing parts are kept";
  EXPECT_EQ(r.resolve("/etc/loop1"), std::nullopt);
  EXPECT_EQ(r.real("/etc/abs"), m_root.string() + in + "/secret");
  EXPECT_EQ(r.resolve("/"), "/");
}

TEST_P(Resolve, RootReadersNeverLeaveTheRoot) {
  Root root(m_root);
  for (const char* p : {"/etc/abs", "/etc/dotdot", "/etc/chain", "/etc/dirlink/file"}) {
    EXPECT_EQ(root.read(p), std::nullopt) << p;
    EXPECT_EQ(root.read_head(p, 4), std::nullopt) << p;
    EXPECT_EQ(root.stat(p).kind, Root::FileInfo::Kind::missing) << p;
  }
  EXPECT_EQ(root.list("/etc/dirlink"), std::nullopt);
  EXPECT_EQ(root.lstat("/etc/abs").kind, Root::FileInfo::Kind::link);
  EXPECT_TRUE(root.exists("/etc/abs")) << "the link itself is there";
  EXPECT_EQ(root.read_link("/etc/abs"), (m_outside / "secret").string()) << "a link's text is data";
  // What lies inside reads as on a host, through the held directories too.
  EXPECT_EQ(root.read("/etc/vendor"), "0x10de\n");
  EXPECT_EQ(root.read("/etc/device/vendor"), "0x10de\n");
  EXPECT_EQ(root.read("/sys/devices/d0/vendor"), "0x10de\n");
  EXPECT_EQ(root.stat("/etc/device").kind, Root::FileInfo::Kind::directory);
  EXPECT_EQ(root.resolve("/etc/device/vendor"), "/sys/devices/d0/vendor");
  EXPECT_EQ(root.resolve("/etc/abs"), std::nullopt) << "its target is not in the root";
}

INSTANTIATE_TEST_SUITE_P(Resolvers, Resolve, ::testing::Values(Resolver::kernel, Resolver::walk),
                         [](const ::testing::TestParamInfo<Resolver>& i) {
                           return i.param == Resolver::kernel ? std::string("kernel") : std::string("walk");
                         });

}  // namespace
}  // namespace vfioctl
