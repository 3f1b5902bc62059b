// The commands setup, undo and bind run (setup/commands.cpp, bind.h's
// load_vfio_pci) and the writer bind uses under a fixture root.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "temp_tree.h"
#include "vfioctl/setup/bind.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/error.h"

namespace vfioctl::setup {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Sets (or clears, with nullptr) an environment variable for one test.
class Env {
 public:
  Env(const char* name, const char* value) : m_name(name) {
    if (const char* old = ::getenv(name)) m_old = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~Env() { m_old ? ::setenv(m_name, m_old->c_str(), 1) : ::unsetenv(m_name); }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

// A runner that answers every command with one result.
class FixedRunner : public CommandRunner {
 public:
  explicit FixedRunner(ProcessResult r) : m_result(std::move(r)) {}
  ProcessResult run(const Command& c) override {
    ran.push_back(c.str());
    return m_result;
  }
  std::vector<std::string> ran;

 private:
  ProcessResult m_result;
};

TEST(CommandRunner, TheEnvironmentChoosesRecording) {
  test::TempTree t;
  std::string log = t.str() + "/commands.log";
  Root root(t.dir());
  {
    Env l("VFIOCTL_COMMAND_LOG", log.c_str());
    Env f("VFIOCTL_COMMAND_FAIL", "dracut");
    EXPECT_TRUE(commands_recorded());
    auto runner = command_runner(root);
    EXPECT_EQ(runner->run(Command{{"update-grub"}, ""}).exit_code, 0);
    EXPECT_EQ(runner->run(Command{{"dracut", "-f"}, ""}).exit_code, 1) << "VFIOCTL_COMMAND_FAIL matches";
    EXPECT_EQ(slurp(log), "update-grub\ndracut -f\n");
  }
  {
    Env l("VFIOCTL_COMMAND_LOG", "");
    EXPECT_FALSE(commands_recorded()) << "an empty log is no log";
  }
  Env l("VFIOCTL_COMMAND_LOG", nullptr);
  EXPECT_FALSE(commands_recorded());
}

TEST(CommandRunner, RunCommandsStopsAtTheFirstFailure) {
  FixedRunner ok({0, ""});
  std::ostringstream log;
  bool undone = false;
  run_commands(
      ok, {Command{{"update-grub"}, ""}, Command{{"update-initramfs", "-u"}, ""}}, [&] { undone = true; }, log);
  EXPECT_EQ(log.str(), "vfioctl: running update-grub\nvfioctl: running update-initramfs -u\n");
  EXPECT_FALSE(undone);

  FixedRunner fails({2, "grub-mkconfig: error\n"});
  std::ostringstream flog;
  try {
    run_commands(
        fails, {Command{{"update-grub"}, ""}, Command{{"update-initramfs", "-u"}, ""}}, [&] { undone = true; }, flog);
    FAIL() << "update-grub failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("'update-grub' failed (exit 2)"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(undone);
  EXPECT_EQ(fails.ran, (std::vector<std::string>{"update-grub"}));
  EXPECT_EQ(flog.str(), "vfioctl: running update-grub\ngrub-mkconfig: error\n");
}

TEST(Bind, ModprobeRunsThroughTheRunnerOnTheLiveHostOnly) {
  BindPlan plan;
  plan.load_vfio = true;
  Root live("/");
  FixedRunner ok({0, ""});
  load_vfio_pci(live, ok, plan);
  EXPECT_EQ(ok.ran, (std::vector<std::string>{"modprobe vfio-pci"}));

  test::TempTree t;
  Root fixture(t.dir());
  FixedRunner never({0, ""});
  load_vfio_pci(fixture, never, plan);
  EXPECT_TRUE(never.ran.empty()) << "a fixture root has no kernel to load it into";

  plan.load_vfio = false;
  load_vfio_pci(live, never, plan);
  EXPECT_TRUE(never.ran.empty()) << "loaded already";

  plan.load_vfio = true;
  FixedRunner fails({1, "modprobe: FATAL: Module vfio-pci not found.\n"});
  try {
    load_vfio_pci(live, fails, plan);
    FAIL() << "modprobe failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_STREQ(e.what(), "modprobe vfio-pci failed: modprobe: FATAL: Module vfio-pci not found.");
  }
}

TEST(Bind, FixtureAttributesAppendEachWriteAsALine) {
  test::TempTree t;
  t.file("/sys/bus/pci/devices/0000:01:00.0/driver_override", "");
  Root fixture(t.dir());
  FileSystem& fs = bind_fs(fixture);
  EXPECT_NE(&fs, &real_fs());
  std::string attr = t.str() + "/sys/bus/pci/devices/0000:01:00.0/driver_override";
  fs.write_attribute(attr, "vfio-pci");
  fs.write_attribute(attr, "\n");
  EXPECT_EQ(slurp(attr), "vfio-pci\n\n") << "a write that ends its line keeps it";
  fs.write(t.str() + "/var/lib/vfioctl/bound.json", "{}\n", FileMode{0644, ::getuid(), ::getgid()});
  EXPECT_EQ(slurp(t.str() + "/var/lib/vfioctl/bound.json"), "{}\n") << "other files are written as usual";
  EXPECT_THROW(fs.write_attribute(t.str() + "/no/such/dir/attr", "1"), Error);

  EXPECT_EQ(&bind_fs(Root("/")), &real_fs());
}

}  // namespace
}  // namespace vfioctl::setup
