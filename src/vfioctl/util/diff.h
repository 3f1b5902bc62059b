// Unified diffs of whole text files, as `diff -u` prints them: what setup
// and undo show before they change anything.
#pragma once

#include <optional>
#include <string>

namespace vfioctl {

// The unified diff turning `before` into `after`, with 3 lines of context.
// nullopt content is an absent file (diffed as empty, labelled /dev/null).
// Empty when the two are equal.
std::string unified_diff(const std::string& path, const std::optional<std::string>& before,
                         const std::optional<std::string>& after);

}  // namespace vfioctl
