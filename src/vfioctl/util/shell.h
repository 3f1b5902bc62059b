// Words for the command languages vfioctl writes: a POSIX shell (the QEMU
// script, the commands setup prints and runs, the hook's wrapper) and
// QEMU's option syntax (key=value,key=value).
#pragma once

#include <string>
#include <string_view>

namespace vfioctl {

// A word for a POSIX shell: unchanged when it holds only letters, digits
// and -_./=:,+@%, else in single quotes ('it'\''s'); "" is ''.
std::string shell_quote(std::string_view word);

// A value inside a QEMU option list: commas doubled, the way QEMU's option
// parser reads a literal comma ("a,b" -> "a,,b").
std::string qemu_escape(std::string_view value);

}  // namespace vfioctl
