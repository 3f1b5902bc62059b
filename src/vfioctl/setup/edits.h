// Text edits setup makes, each idempotent: applied to its own output it
// changes nothing. Pure string functions, unit-tested on real default files.
#pragma once

#include <functional>
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

// The 1-based first and last lines of the managed block ("# BEGIN vfioctl"
// ... "# END vfioctl": the first END and the BEGIN closest before it), or
// nullopt when there is none.
std::optional<std::pair<int, int>> managed_block_lines(const std::string& text);

// The text with any managed block taken out (what the user wrote).
std::string without_managed_block(const std::string& text);

// Value of the last uncommented shell assignment NAME="..." (or '...' or
// bare), nullopt when none; `line` gets its 1-based number.
std::optional<std::string> shell_value(const std::string& text, std::string_view name, int* line = nullptr);

// "key=value" or "key".
std::string arg_str(const KernelArg& a);

// A bash array assignment NAME=(a b c) (mkinitcpio.conf): `front` words put
// first, in order, each once; the other words keep their order. An absent
// assignment is appended. Handles the array on one line.
std::string prepend_to_array(const std::string& text, std::string_view name, const std::vector<std::string>& front);

// Words of the last uncommented NAME=(...) assignment, nullopt when none.
std::optional<std::vector<std::string>> array_words(const std::string& text, std::string_view name);

// One word of a line to change in place: the `nth` (0-based) occurrence of
// `old` on 1-based `line`, as a whole word (bounded by the line's start or
// end, blanks, quotes or the first '='), replaced by `now` or, when nullopt,
// dropped with one blank next to it.
struct LineWordEdit {
  int line = 0;
  int nth = 0;
  std::string old;
  std::optional<std::string> now;
};

// The text with these edits made; an edit whose word is not found changes
// nothing.
std::string edit_words_in_lines(const std::string& text, const std::vector<LineWordEdit>& edits);

// Lines first..last (1-based) replaced by `now` (one line), or removed when
// nullopt.
std::string replace_lines(const std::string& text, int first, int last, const std::optional<std::string>& now);

// `words` appended to 1-based `line` after a blank.
std::string append_to_line(const std::string& text, int line, const std::string& words);

// set_managed_block, with the block placed just before the line that is
// number `before` (1-based) in `text` as given (0: at the end).
std::string set_managed_block_before(const std::string& text, const std::string& title, const std::string& body,
                                     int before);

// The bash array assignment (NAME=( ... ), possibly over several lines, or
// the older string form NAME="...") that starts on 1-based `line`, with its words replaced by `edit(words)`;
// written on one line when its words change.
std::string edit_array_at(const std::string& text, int line,
                          const std::function<std::vector<std::string>(const std::vector<std::string>&)>& edit);

}  // namespace vfioctl::setup
