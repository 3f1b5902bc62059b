#include "vfioctl/util/shell.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

TEST(Shell, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(shell_quote("-smp"), "-smp");
  EXPECT_EQ(shell_quote("file=/a/b.img,if=none"), "file=/a/b.img,if=none");
  EXPECT_EQ(shell_quote("user@host:%1+2"), "user@host:%1+2");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("a*"), "'a*'");
  EXPECT_EQ(shell_quote(""), "''");
  // Letters beyond ASCII are quoted whatever the locale says of them.
  EXPECT_EQ(shell_quote("\xc3\xa9"), "'\xc3\xa9'");
}

TEST(Shell, QemuEscapeDoublesCommas) {
  EXPECT_EQ(qemu_escape("/dev/input/by-id/usb-B,C-event-kbd"), "/dev/input/by-id/usb-B,,C-event-kbd");
  EXPECT_EQ(qemu_escape(",,"), ",,,,");
  EXPECT_EQ(qemu_escape("plain=value"), "plain=value");
  EXPECT_EQ(qemu_escape(""), "");
}

}  // namespace
}  // namespace vfioctl
