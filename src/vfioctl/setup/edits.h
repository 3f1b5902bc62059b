// Text edits setup makes, each idempotent: applied to its own output it
// changes nothing. Pure string functions, unit-tested on real default files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/kernel.h"

namespace vfioctl::setup {

// A managed block: "# BEGIN vfioctl ..." ... "# END vfioctl" lines. The
// block's body is replaced when present, appended when not, removed when
// `body` is empty. `title` goes on the BEGIN line.
std::string set_managed_block(const std::string& text, const std::string& title, const std::string& body);

// The text with any managed block taken out (what the user wrote).
std::string without_managed_block(const std::string& text);

// Value of the last uncommented shell assignment NAME="..." (or '...' or
// bare), nullopt when none; `line` gets its 1-based number.
std::optional<std::string> shell_value(const std::string& text, std::string_view name, int* line = nullptr);

// A kernel command line with each of `want` set: an argument with the same
// key gets the new value in place (duplicates after it are dropped), the
// others are appended in order. Keys compare with '-' and '_' alike.
std::string edit_cmdline(std::string_view cmdline, const std::vector<KernelArg>& want);

// "key=value" or "key".
std::string arg_str(const KernelArg& a);

// The arguments of `want` that `cmdline` does not already have with the
// same value.
std::vector<KernelArg> missing_args(std::string_view cmdline, const std::vector<KernelArg>& want);

// A bash array assignment NAME=(a b c) (mkinitcpio.conf): `front` words put
// first, in order, each once; the other words keep their order. An absent
// assignment is appended. Handles the array on one line.
std::string prepend_to_array(const std::string& text, std::string_view name, const std::vector<std::string>& front);

// Words of the last uncommented NAME=(...) assignment, nullopt when none.
std::optional<std::vector<std::string>> array_words(const std::string& text, std::string_view name);

// A loader entry (systemd-boot, BLS) with its "options" line edited by
// edit_cmdline; an entry without one gets one.
std::string edit_entry_options(const std::string& entry, const std::vector<KernelArg>& want);

}  // namespace vfioctl::setup
