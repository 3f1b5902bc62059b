// What every command shares: help, unknown commands, bad roots, exit codes.
#include <gtest/gtest.h>

#include "run.h"

namespace vfioctl::test {
namespace {

TEST(CliBasics, NoArgumentsPrintsHelpWithEveryCommand) {
  Result r = vfioctl({});
  EXPECT_EQ(r.rc, 0);
  for (const char* cmd : {"list", "topo", "snapshot"}) EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  EXPECT_NE(r.out.find("--root"), std::string::npos);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
}

TEST(CliBasics, CommandHelpTeachesWithExamples) {
  Result r = vfioctl({"list", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("passable"), std::string::npos);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
}

TEST(CliBasics, UnknownCommandSuggestsTheNearestOne) {
  Result r = vfioctl({"lsit"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "vfioctl: error: unknown command 'lsit'; did you mean 'list'?\n"
            "Run 'vfioctl --help' for the list of commands.\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(CliBasics, UnknownOptionIsExitTwo) {
  Result r = vfioctl({"topo", "--frobnicate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("vfioctl: error:"), std::string::npos);
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos);
}

TEST(CliBasics, MissingRootIsExitTwoNamingIt) {
  Result r = vfioctl({"--root", "/nonexistent/host", "list"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "vfioctl: error: --root /nonexistent/host: no such directory; give a host tree "
            "(a directory with sys/ and proc/) or an unpacked snapshot\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(CliBasics, RootThatIsNotAHostTreeIsExitTwo) {
  Result r = vfioctl({"--root", std::string(VFIOCTL_SOURCE_DIR) + "/src", "topo"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("not a host tree"), std::string::npos);
}

TEST(CliBasics, GlobalOptionsWorkAfterTheCommandToo) {
  Result a = vfioctl({"--json", "topo"});
  Result b = vfioctl({"topo", "--json"});
  EXPECT_EQ(a.rc, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_NO_THROW(a.json());
}

}  // namespace
}  // namespace vfioctl::test
