// The setup layer below the command line: text edits (idempotent on real
// default files), unified diffs, and the transaction's rollback with a
// write failing at every position, the journal's own writes included.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/diff.h"
#include "vfioctl/util/error.h"

namespace vfioctl::setup {
namespace {

namespace fs = std::filesystem;

TEST(ManagedBlock, AppendsReplacesAndRemoves) {
  std::string text = "A=1\n";
  std::string one = set_managed_block(text, "t", "B=2");
  EXPECT_EQ(one, "A=1\n# BEGIN vfioctl: t\nB=2\n# END vfioctl\n");
  EXPECT_EQ(set_managed_block(one, "t", "B=2"), one) << "idempotent";
  EXPECT_EQ(set_managed_block(one, "t", "B=3"), "A=1\n# BEGIN vfioctl: t\nB=3\n# END vfioctl\n");
  EXPECT_EQ(set_managed_block(one, "t", ""), text);
  EXPECT_EQ(without_managed_block(one), text);
  // A file without a final newline gets one before the block.
  EXPECT_EQ(set_managed_block("A=1", "t", "B"), "A=1\n# BEGIN vfioctl: t\nB\n# END vfioctl\n");
}

TEST(ShellValue, LastUncommentedAssignmentWins) {
  int line = 0;
  std::string t = "#X=\"no\"\nX=\"quiet splash\"\nexport X='b'\n";
  EXPECT_EQ(shell_value(t, "X", &line), "b");
  EXPECT_EQ(line, 3);
  EXPECT_EQ(shell_value(t, "Y"), std::nullopt);
}

TEST(BashArray, PrependsOnceKeepingTheRestAndComments) {
  std::string conf = "# MODULES=(x)\nMODULES=(amdgpu) # gpu\nHOOKS=(base modconf)\n";
  std::vector<std::string> v = {"vfio", "vfio_pci"};
  std::string out = prepend_to_array(conf, "MODULES", v);
  EXPECT_EQ(out, "# MODULES=(x)\nMODULES=(vfio vfio_pci amdgpu) # gpu\nHOOKS=(base modconf)\n");
  EXPECT_EQ(prepend_to_array(out, "MODULES", v), out);
  EXPECT_EQ(array_words(out, "HOOKS"), (std::vector<std::string>{"base", "modconf"}));
  EXPECT_EQ(prepend_to_array("A=1\n", "FILES", {"/x"}), "A=1\nFILES=(/x)\n");
}

TEST(UnifiedDiff, HunksLikeDiffU) {
  EXPECT_EQ(unified_diff("/f", std::string("a\n"), std::string("a\n")), "");
  EXPECT_EQ(unified_diff("/f", std::nullopt, std::string("x\ny\n")),
            "--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  std::string before, after;
  for (int i = 1; i <= 20; ++i) {
    before += std::to_string(i) + "\n";
    after += (i == 10 ? std::string("ten") : std::to_string(i)) + "\n";
  }
  EXPECT_EQ(unified_diff("/f", before, after),
            "--- a/f\n+++ b/f\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n");
  EXPECT_EQ(unified_diff("/f", std::string("a"), std::string("a\n")),
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n");
}

// Fails the Nth write or removal (0-based), counting from construction.
class FaultFs : public FileSystem {
 public:
  explicit FaultFs(int fail_at) : m_fail_at(fail_at) {}
  void write(const std::string& path, const std::string& content, const FileMode& mode) override {
    step(path);
    real_fs().write(path, content, mode);
  }
  void remove(const std::string& path) override {
    step(path);
    real_fs().remove(path);
  }
  void write_attribute(const std::string& path, const std::string& value) override {
    step(path);
    real_fs().write_attribute(path, value);
  }
  int count() const { return m_count; }

 private:
  void step(const std::string& path) {
    if (m_count++ == m_fail_at) throw Error(ExitCode::refused, path + ": injected failure");
  }
  int m_fail_at;
  int m_count = 0;
};

std::map<std::string, std::string> files_under(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (rel.rfind("var", 0) == 0) continue;
    out[rel] = it->is_regular_file() ? read_file(it->path().string()).value_or("?") : "<dir>";
  }
  return out;
}

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("vfioctl-tx-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir / "etc/default");
    std::ofstream(m_dir / "etc/default/grub") << "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n";
    std::ofstream(m_dir / "etc/fstab") << "# fstab\n";
    fs::permissions(m_dir / "etc/fstab", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  Plan plan() const {
    Plan p;
    auto add = [&](const std::string& path, std::optional<std::string> after) {
      FileChange c;
      c.path = path;
      c.before = read_file((m_dir / path.substr(1)).string());
      c.after = std::move(after);
      p.files.push_back(std::move(c));
    };
    add("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n");
    add("/etc/modprobe.d/vfioctl.conf", "options vfio-pci ids=10de:1b81\n");
    add("/etc/fstab", "# fstab\nhugetlbfs /dev/hugepages1G hugetlbfs pagesize=1G 0 0\n");
    p.commands.push_back({{"update-grub"}, "regenerate"});
    return p;
  }

  fs::path m_dir;
};

TEST_F(TransactionTest, ApplyThenUndoIsByteExactAndKeepsModes) {
  Root root(m_dir);
  auto before = files_under(m_dir);
  auto entry = apply(root, real_fs(), plan(), "test");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->id, "1");
  EXPECT_EQ(read_file((m_dir / "etc/modprobe.d/vfioctl.conf").string()), "options vfio-pci ids=10de:1b81\n");
  EXPECT_EQ(fs::status(m_dir / "etc/fstab").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  Journal j(root, real_fs());
  auto loaded = j.load("1");
  EXPECT_EQ(loaded.files.size(), 3u);
  EXPECT_EQ(loaded.commands.at(0).argv, std::vector<std::string>{"update-grub"});
  undo(root, real_fs(), loaded, false);
  EXPECT_EQ(files_under(m_dir), before);
  EXPECT_EQ(j.load("1").state, "undone");
  EXPECT_EQ(j.next_id(), "2");
}

TEST_F(TransactionTest, AFailureAtEveryWriteOfApplyLeavesTheTreeAsItWas) {
  auto before = files_under(m_dir);
  int writes;
  {
    Root root(m_dir);
    FaultFs counter(-1);
    ASSERT_TRUE(apply(root, counter, plan(), "count"));
    writes = counter.count();
  }
  // Journal: 2 before-copies + 3 after-copies + entry.json; then 3 files.
  EXPECT_EQ(writes, 9);
  for (int n = 0; n < writes; ++n) {
    SCOPED_TRACE("write " + std::to_string(n));
    TearDown();
    SetUp();
    Root root(m_dir);
    FaultFs fault(n);
    try {
      apply(root, fault, plan(), "fault");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::refused);
      EXPECT_NE(std::string(e.what()).find("nothing changed"), std::string::npos) << e.what();
    }
    EXPECT_EQ(files_under(m_dir), before);
    EXPECT_TRUE(Journal(root, real_fs()).list().empty()) << "the journal keeps no entry of a rolled-back apply";
  }
}

TEST_F(TransactionTest, AFailureAtEveryWriteOfUndoLeavesTheAppliedState) {
  for (int n = 0; n < 4; ++n) {  // 3 files + entry.json
    SCOPED_TRACE("write " + std::to_string(n));
    TearDown();
    SetUp();
    Root root(m_dir);
    ASSERT_TRUE(apply(root, real_fs(), plan(), "t"));
    auto applied = files_under(m_dir);
    Journal j(root, real_fs());
    auto entry = j.load("1");
    FaultFs fault(n);
    EXPECT_THROW(undo(root, fault, entry, false), Error);
    EXPECT_EQ(files_under(m_dir), applied);
    EXPECT_EQ(j.load("1").state, "applied");
  }
}

// Stands for the process being killed (SIGKILL): thrown past every
// rollback, since a killed process runs none.
struct Killed {};

// Dies at the Nth write or removal (0-based). A death at a file's write
// (not the journal's) leaves the temporary file the atomic write had made.
class KillFs : public FileSystem {
 public:
  explicit KillFs(int kill_at) : m_kill_at(kill_at) {}
  void write(const std::string& path, const std::string& content, const FileMode& mode) override {
    if (m_count++ == m_kill_at) {
      if (path.find("/var/lib/vfioctl/") == std::string::npos) {
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(fs::path(path).parent_path() / ("." + fs::path(path).filename().string() + ".vfioctl-k1ll3d"))
            << content.substr(0, content.size() / 2);
      }
      throw Killed{};
    }
    real_fs().write(path, content, mode);
  }
  void remove(const std::string& path) override {
    if (m_count++ == m_kill_at) throw Killed{};
    real_fs().remove(path);
  }
  void write_attribute(const std::string& path, const std::string& value) override {
    if (m_count++ == m_kill_at) throw Killed{};
    real_fs().write_attribute(path, value);
  }

 private:
  int m_kill_at;
  int m_count = 0;
};

TEST_F(TransactionTest, AKillAfterEveryWriteOfApplyIsUndoneWithoutForce) {
  const auto before = files_under(m_dir);
  for (int n = 0; n < 9; ++n) {  // the journal's 6 writes, then the 3 files
    SCOPED_TRACE("killed at write " + std::to_string(n));
    TearDown();
    SetUp();
    {
      Root root(m_dir);
      KillFs kill(n);
      EXPECT_THROW(apply(root, kill, plan(), "killed"), Killed);
    }
    // A new process: what the journal holds decides.
    Root root(m_dir);
    Journal j(root, real_fs());
    std::vector<std::string> problems;
    auto entries = j.list(&problems);
    EXPECT_TRUE(problems.empty()) << problems.front();
    if (n < 6) {
      EXPECT_TRUE(entries.empty()) << "killed before the entry was complete: nothing was changed";
      EXPECT_EQ(files_under(m_dir), before);
      auto again = apply(root, real_fs(), plan(), "again");
      ASSERT_TRUE(again);
      EXPECT_EQ(again->id, "1") << "the incomplete entry is dropped";
      continue;
    }
    ASSERT_EQ(entries.size(), 1u);
    auto entry = entries[0];
    EXPECT_EQ(entry.state, "applied");
    try {
      undo(root, real_fs(), entry, false);
    } catch (const Error& e) {
      ADD_FAILURE() << "undo after a kill refused: " << e.what();
    }
    EXPECT_EQ(files_under(m_dir), before) << "every file back, no temporary file, no empty directory";
    EXPECT_EQ(j.load(entry.id).state, "undone");
  }
}

TEST_F(TransactionTest, AKillDuringUndoIsFinishedByTheNextUndo) {
  const auto before = files_under(m_dir);
  for (int n = 0; n < 4; ++n) {  // 3 files + entry.json
    SCOPED_TRACE("killed at undo write " + std::to_string(n));
    TearDown();
    SetUp();
    Root root(m_dir);
    ASSERT_TRUE(apply(root, real_fs(), plan(), "t"));
    Journal j(root, real_fs());
    auto entry = j.load("1");
    KillFs kill(n);
    EXPECT_THROW(undo(root, kill, entry, false), Killed);
    auto again = j.load("1");
    ASSERT_EQ(again.state, "applied");
    EXPECT_NO_THROW(undo(root, real_fs(), again, false));
    EXPECT_EQ(files_under(m_dir), before);
  }
}

TEST_F(TransactionTest, UndoStillRefusesAFileSomeoneElseChanged) {
  Root root(m_dir);
  ASSERT_TRUE(apply(root, real_fs(), plan(), "t"));
  std::ofstream(m_dir / "etc/modprobe.d/vfioctl.conf", std::ios::app) << "# mine\n";
  auto entry = Journal(root, real_fs()).load("1");
  try {
    undo(root, real_fs(), entry, false);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/modprobe.d/vfioctl.conf changed since entry 1"), std::string::npos)
        << e.what();
  }
}

TEST_F(TransactionTest, ASecondWriterIsRefusedWhileTheFirstHoldsTheLock) {
  Root root(m_dir);
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    {
      HostLock lock(root, "setup --apply (the other one)");
      char c = 'r';
      [[maybe_unused]] ssize_t w = ::write(ready[1], &c, 1);
      [[maybe_unused]] ssize_t r = ::read(done[0], &c, 1);
    }
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  auto before = files_under(m_dir);
  try {
    apply(root, real_fs(), plan(), "second");
    ADD_FAILURE() << "two writers at once";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("another vfioctl is changing this host (pid " + std::to_string(child) +
                                         " (setup --apply (the other one)) holds"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(files_under(m_dir), before) << "the refused one wrote nothing";
  [[maybe_unused]] ssize_t w = ::write(done[1], &c, 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto entry = apply(root, real_fs(), plan(), "after");
  ASSERT_TRUE(entry) << "the lock is free once its holder ends";
  EXPECT_EQ(entry->id, "1");
}

TEST_F(TransactionTest, RefusesWhenAFileChangedSinceItWasPlanned) {
  Root root(m_dir);
  Plan p = plan();
  std::ofstream(m_dir / "etc/fstab", std::ios::app) << "edited\n";
  auto now = files_under(m_dir);
  EXPECT_THROW(apply(root, real_fs(), p, "t"), Error);
  EXPECT_EQ(files_under(m_dir), now);
}

}  // namespace
}  // namespace vfioctl::setup
