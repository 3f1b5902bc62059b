// Notes: what a reader could not read or did not understand. A missing or
// odd file never stops a reader; it degrades to "unknown" and leaves a note
// naming the host path, shown to the user beside the output.
#pragma once

#include <string>
#include <vector>

namespace vfioctl {

struct Note {
  std::string path;     // host path the note is about ("/sys/.../vendor")
  std::string message;  // what is wrong and what was assumed
};

using Notes = std::vector<Note>;

}  // namespace vfioctl
