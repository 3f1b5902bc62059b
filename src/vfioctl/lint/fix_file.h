// `lint --fix` on one file: the fixes of lint.h's fix_text written back, in
// place with the original kept as FILE.bak (a link stays a link: its target
// is rewritten), or to another file. Written through util/atomic_file.h's
// FileSystem, keeping the file's mode and owner (or the input's).
#pragma once

#include <string>

#include "vfioctl/lint/lint.h"
#include "vfioctl/util/atomic_file.h"

namespace vfioctl::lint {

// Fixes `text` (read from `path`; "-" is standard input) and writes the
// result: to `output` when given (even when nothing changed; an `output`
// that already holds it is left alone), else over `path` with FILE.bak when
// something changed. Returns the report of the result (nothing is written
// when `text` does not parse); `said` gets what was done ("win11.xml: fixed
// 2 findings (L007, L009) (the original is win11.xml.bak)").
// Throws Error(refused) when a write fails.
FileReport fix_file(FileSystem& fs, const std::string& path, std::string text, const std::string& output,
                    const Host* host, const LintOptions& lo, std::string& said);

}  // namespace vfioctl::lint
