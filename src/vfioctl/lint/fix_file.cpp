#include "vfioctl/lint/fix_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

namespace {

// The mode and owner a written file gets: its own when it exists, else the
// input's, else the default for this user.
FileMode mode_for(const std::string& path, const std::string& input) {
  if (auto m = file_mode(path)) return *m;
  if (input != "-") {
    if (auto m = file_mode(input)) return *m;
  }
  return FileMode{0644, ::getuid(), ::getgid()};
}

// "fixed 4 findings (L007, L009, L015, L016)": each rule once, in order.
std::string fixed_text(const std::vector<std::string>& ids) {
  std::vector<std::string> rules;
  for (const auto& id : ids) {
    if (std::find(rules.begin(), rules.end(), id) == rules.end()) rules.push_back(id);
  }
  return fmt::format("fixed {} finding{} ({})", ids.size(), ids.size() == 1 ? "" : "s", join(rules, ", "));
}

}  // namespace

FileReport fix_file(FileSystem& fs, const std::string& path, std::string text, const std::string& output,
                    const Host* host, const LintOptions& lo, std::string& said) {
  std::string name = path == "-" ? "<stdin>" : path;
  FixResult fr = fix_text(output.empty() ? name : output, text, host, lo);
  if (!fr.report.ok) {
    fr.report.file = name;
    return fr.report;  // nothing is written
  }
  fr.report.fixed = fr.fixed;
  said = name + ": " + (fr.changed() ? fixed_text(fr.fixed) : std::string("nothing to fix"));
  if (!output.empty()) {
    // The result goes to OUT even when nothing changed; an OUT that already
    // holds it is left alone.
    if (vfioctl::read_file(output) != fr.text) fs.write(output, fr.text, mode_for(output, path));
    said += ", written to " + output;
  } else if (fr.changed()) {
    // A link stays a link: its target is rewritten.
    std::string target = link_target(path);
    FileMode mode = mode_for(target, path);
    fs.write(path + ".bak", text, mode);
    fs.write(target, fr.text, mode);
    said += fmt::format(" (the original is {}.bak)", path);
  }
  return fr.report;
}

}  // namespace vfioctl::lint
