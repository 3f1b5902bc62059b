#include "vfioctl/host/modprobe.h"

#include <fmt/format.h>

#include <map>

#include "vfioctl/host/kernel.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

std::string Place::str() const { return line > 0 ? fmt::format("{}:{}", path, line) : path; }

ModprobeConfig read_modprobe(const Root& root) {
  ModprobeConfig c;
  std::map<std::string, std::string> by_name;
  for (const char* dir :
       {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d"}) {
    auto names = root.list(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (ends_with(n, ".conf") && n.size() > 5) by_name.emplace(n, std::string(dir) + "/" + n);
    }
  }
  for (const auto& [name, path] : by_name) {
    auto text = root.read(path);
    if (!text) continue;
    c.files.push_back(path);
    std::vector<std::string_view> lines = split(*text, '\n');
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string logical(trim(lines[i]));
      int first = static_cast<int>(i) + 1;
      while (!logical.empty() && logical.back() == '\\' && i + 1 < lines.size()) {
        logical.pop_back();
        logical += " ";
        logical += trim(lines[++i]);
      }
      if (logical.empty() || logical[0] == '#') continue;
      auto words = split_ws(logical);
      if (words.size() < 2) continue;
      ModprobeLine m;
      if (words[0] == "options")
        m.kind = ModprobeLine::Kind::options;
      else if (words[0] == "softdep")
        m.kind = ModprobeLine::Kind::softdep;
      else if (words[0] == "install")
        m.kind = ModprobeLine::Kind::install;
      else if (words[0] == "blacklist")
        m.kind = ModprobeLine::Kind::blacklist;
      else
        continue;
      m.at = {path, first};
      m.last_line = static_cast<int>(i) + 1;
      m.module = module_name(std::string(words[1]));
      for (size_t k = 2; k < words.size(); ++k) m.args.emplace_back(words[k]);
      m.editable = starts_with(path, "/etc/modprobe.d/");
      m.ours = path == "/etc/modprobe.d/vfioctl.conf";
      c.lines.push_back(std::move(m));
    }
  }
  return c;
}

std::optional<std::string> option_value(const ModprobeLine& line, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& a : line.args) {
    size_t eq = a.find('=');
    if (eq == std::string::npos || module_name(a.substr(0, eq)) != module_name(std::string(name))) continue;
    out = unquote(std::string_view(a).substr(eq + 1));
  }
  return out;
}

}  // namespace vfioctl
