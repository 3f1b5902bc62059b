#include "vfioctl/util/suggest.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

TEST(Suggest, WithinTwoEditsByDefault) {
  std::vector<std::string> commands = {"list", "topo", "doctor", "new", "lint"};
  EXPECT_EQ(nearest("lsit", commands, {}), "list");
  EXPECT_EQ(nearest("docter", commands, {}), "doctor");
  EXPECT_EQ(nearest("frobnicate", commands, {}), "");
  // Ties go to the first choice offered: "lit" is one edit from both.
  EXPECT_EQ(nearest("lit", {"lint", "list"}, {}), "lint");
  EXPECT_EQ(nearest("lit", {"list", "lint"}, {}), "list");
  // Case counts unless told otherwise.
  EXPECT_EQ(nearest("l0o3", {"L002"}, {}), "");
  EXPECT_EQ(nearest("l0o3", {"L002"}, {.ignore_case = true}), "L002");
}

TEST(Suggest, ShortChoicesNeedFewerEditsThanTheyHave) {
  EXPECT_EQ(nearest("xy", {"ht"}, {}), "ht");
  EXPECT_EQ(nearest("xy", {"ht"}, {.fewer_than_choice = true}), "");
}

TEST(Suggest, LongWordsAndPrefixes) {
  Nearness generous{.third_of_length = true, .fewer_than_choice = true, .prefix = true, .ignore_case = true};
  // Four edits are near for a 12-character word.
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefghwxyz"}, generous), "abcdefghwxyz");
  EXPECT_EQ(nearest("abcdefghijkl", {"abcdefghwxyz"}, {}), "");
  // A beginning of three characters or more names the choice.
  EXPECT_EQ(nearest("ctrl", {"alt-alt", "ctrl-ctrl"}, generous), "ctrl-ctrl");
  EXPECT_EQ(nearest("ct", {"ctrl-ctrl"}, generous), "");
  EXPECT_EQ(did_you_mean("Scrollock", {"scrolllock"}, generous), "; did you mean 'scrolllock'?");
  EXPECT_EQ(did_you_mean("zzz", {"scrolllock"}, generous), "");
}

TEST(Suggest, OfferedOneAtATime) {
  Nearest n("pinn", {});
  EXPECT_EQ(n.best(), "");
  for (const char* c : {"new", "pin", "lint"}) n.offer(c);
  EXPECT_EQ(n.best(), "pin");
}

}  // namespace
}  // namespace vfioctl
