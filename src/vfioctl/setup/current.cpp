#include "vfioctl/setup/current.h"

#include <fmt/format.h>

#include <functional>
#include <map>

#include "vfioctl/host/kernel.h"
#include "vfioctl/setup/edits.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

// Physical lines of a text with a flag for the lines inside vfioctl's
// managed block (which are vfioctl's, not the user's).
struct Line {
  std::string_view text;
  int number = 0;
  bool ours = false;
};

// The lines are views into `text`: a temporary would leave them dangling.
std::vector<Line> lines_of(std::string&& text) = delete;
std::vector<Line> lines_of(const std::string& text) {
  std::vector<Line> out;
  auto block = managed_block_lines(text);
  int n = 0;
  for (auto l : split(text, '\n')) {
    ++n;
    out.push_back({l, n, block && n >= block->first && n <= block->second});
  }
  // A final newline makes split return one empty last piece: not a line.
  if (!out.empty() && out.back().text.empty() && !text.empty() && text.back() == '\n') out.pop_back();
  return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Shell evaluation of GRUB's two command-line variables across the files
// grub-mkconfig sources. Assignments inside `if` blocks count as made
// (vfioctl does not run the file); expansions of other variables stay as
// words that cannot be edited.
class GrubEval {
 public:
  // `vars`: the variables that make the command line; `whole`: one of them
  // whose value is a single word the kernel gets as whole=VALUE (extlinux's
  // modules=), edited by rewriting its line.
  explicit GrubEval(std::vector<std::string> names, std::string whole = {})
      : m_vars(std::move(names)), m_whole(std::move(whole)) {}
  std::map<std::string, std::vector<CmdWord>> vars;
  std::map<std::string, std::string> last_file;  // var -> file of its last assignment
  std::vector<CmdWord> block_words;
  std::string block_path;
  std::optional<Place> unclosed;  // an assignment whose quote never closes

  void file(const std::string& path, const std::string& text, int splice_after, const std::function<void()>& splice) {
    auto lines = lines_of(text);
    for (size_t i = 0; i < lines.size(); ++i) {
      const Line& l = lines[i];
      if (l.ours) {
        block_line(path, l.text);
      } else {
        size_t consumed = assignment(path, lines, i);
        i += consumed;
      }
      if (splice_after > 0 && lines[i].number >= splice_after && splice) {
        splice();
        splice_after = 0;
      }
    }
    if (splice_after > 0 && splice) splice();
  }

 private:
  std::vector<std::string> m_vars;
  std::string m_whole;

  void block_line(const std::string& path, std::string_view text) {
    std::string_view t = trim(text);
    for (const auto& var : m_vars) {
      std::string prefix = var + "=";
      if (!starts_with(t, prefix)) continue;
      block_path = path;
      std::string value = unquote(t.substr(prefix.size()));
      if (var == m_whole) {
        CmdWord c;
        c.text = prefix + value;
        c.at = {path, 0};
        c.ours = true;
        block_words.push_back(std::move(c));
        continue;
      }
      for (auto w : split_ws(value)) {
        if (starts_with(w, "$")) continue;
        CmdWord c;
        c.text = std::string(w);
        c.at = {path, 0};
        c.ours = true;
        block_words.push_back(std::move(c));
      }
    }
  }

  // Parses an assignment starting at lines[i] (a quoted value may run over
  // several lines); returns how many extra lines it took.
  size_t assignment(const std::string& path, const std::vector<Line>& lines, size_t i) {
    std::string_view t = trim(lines[i].text);
    if (starts_with(t, "export ")) t = trim(t.substr(7));
    std::string_view var;
    for (const auto& v : m_vars) {
      if (starts_with(t, v) && t.size() > v.size() && t[v.size()] == '=') {
        var = v;
        break;
      }
    }
    if (var.empty()) return 0;
    std::string_view value = t.substr(var.size() + 1);
    std::vector<CmdWord> out;
    std::map<std::pair<int, std::string>, int> seen;  // (line, text) -> occurrences so far
    std::string cur;
    bool cur_literal = true;
    int cur_line = lines[i].number;
    char quote = 0;
    size_t extra = 0;
    auto flush = [&]() {
      if (cur.empty()) return;
      CmdWord w;
      w.text = cur;
      w.at = {path, cur_literal ? cur_line : 0};
      if (cur_literal) w.nth = seen[{cur_line, cur}]++;
      out.push_back(std::move(w));
      cur.clear();
      cur_literal = true;
    };
    int line = lines[i].number;
    for (;;) {
      size_t k = 0;
      while (k < value.size()) {
        char c = value[k];
        if (quote == 0 && (c == ' ' || c == '\t')) break;  // the end of the value
        if (quote == 0 && (c == '"' || c == '\'')) {
          quote = c;
          ++k;
          continue;
        }
        if (quote == c) {
          quote = 0;
          ++k;
          continue;
        }
        if (quote != 0 && (c == ' ' || c == '\t')) {
          flush();
          ++k;
          continue;
        }
        if (c == '$' && quote != '\'') {
          size_t j = k + 1;
          bool brace = j < value.size() && value[j] == '{';
          if (brace) ++j;
          size_t s = j;
          while (j < value.size() && is_name_char(value[j])) ++j;
          std::string name(value.substr(s, j - s));
          if (brace && j < value.size() && value[j] == '}') ++j;
          if (!name.empty() && vars.count(name)) {
            flush();
            for (const auto& w : vars[name]) out.push_back(w);
          } else {
            if (cur.empty()) cur_line = line;
            cur += value.substr(k, j - k);
            cur_literal = false;
          }
          k = j;
          continue;
        }
        if (cur.empty()) cur_line = line;
        cur += c;
        ++k;
      }
      if (quote == 0) break;
      if (i + extra + 1 >= lines.size() || lines[i + extra + 1].ours) {
        // The quote never closes: the shell would take everything after it
        // (vfioctl's block too) into the value, and grub-mkconfig would fail.
        unclosed = Place{path, lines[i].number};
        break;
      }
      // A quoted value that goes on on the next line.
      flush();
      ++extra;
      value = lines[i + extra].text;
      line = lines[i + extra].number;
    }
    flush();
    if (var == m_whole && extra == 0 && out.size() == 1 && out[0].at.line > 0) {
      // One word, rewritten with its line: modules=sd-mod,usb-storage,ext4.
      std::string whole_value = out[0].text;
      out.clear();
      if (!whole_value.empty()) {
        CmdWord w;
        w.text = std::string(var) + "=" + whole_value;
        w.at = {path, lines[i].number};
        w.whole_line = true;
        out.push_back(std::move(w));
      }
    }
    vars[std::string(var)] = std::move(out);
    last_file[std::string(var)] = path;
    return extra;
  }
};

std::vector<CmdWord> words_of_lines(const std::string& path, const std::string& text, bool options_lines) {
  std::vector<CmdWord> out;
  for (const auto& l : lines_of(text)) {
    std::string_view t = trim(l.text);
    if (options_lines) {
      if (!starts_with(t, "options") || (t.size() > 7 && t[7] != ' ' && t[7] != '\t')) continue;
      t = trim(t.substr(7));
    } else if (starts_with(t, "#")) {
      continue;
    }
    std::map<std::string, int> seen;
    for (auto w : split_ws(t)) {
      CmdWord c;
      c.text = std::string(w);
      c.at = {path, l.number};
      c.nth = seen[c.text]++;
      out.push_back(std::move(c));
    }
  }
  return out;
}

// Words of a bash array NAME=( ... ) or NAME+=( ... ), or of a string
// NAME="...", starting at line i (it may span lines); returns the words and
// the number of extra lines.
std::pair<std::vector<std::string>, size_t> array_at(const std::vector<Line>& lines, size_t i, size_t open) {
  std::vector<std::string> words;
  size_t extra = 0;
  char closing = lines[i].text[open] == '(' ? ')' : '"';
  std::string_view rest = lines[i].text.substr(open + 1);
  for (;;) {
    size_t close = rest.find(closing);
    std::string_view inner = rest.substr(0, close);
    if (size_t hash = inner.find('#'); hash != std::string_view::npos) inner = inner.substr(0, hash);
    for (auto w : split_ws(inner)) words.push_back(unquote(w));
    if (close != std::string_view::npos || i + extra + 1 >= lines.size()) break;
    ++extra;
    rest = lines[i + extra].text;
  }
  return {words, extra};
}

// A quote that never closes: the shell would read the rest of the file
// (vfioctl's block too) into the value, and `reader` would fail on it.
void refuse_unclosed(const GrubEval& ev, const char* reader) {
  if (!ev.unclosed) return;
  throw input_error(fmt::format(
      "{}: the quote opened on this line never closes; {} would fail on this file too. Close it, then run setup again",
      ev.unclosed->str(), reader));
}

}  // namespace

std::string CmdlineTarget::describe() const {
  switch (kind) {
    case Kind::grub: return "GRUB's command line";
    case Kind::entry: return "the boot entry " + path;
    case Kind::kernel_cmdline: return "/etc/kernel/cmdline";
    case Kind::kernelstub: return "kernelstub's configuration";
    case Kind::extlinux: return "extlinux's command line";
    case Kind::ostree: return "the booted deployment's arguments";
  }
  return path;
}

std::vector<CmdlineTarget> read_cmdlines(const Root& root, const BootLayout& boot, std::vector<std::string>& notes) {
  std::vector<CmdlineTarget> out;
  if (boot.kind == BootLayout::Kind::extlinux) {
    // update-extlinux gives the kernel modules=$modules, then
    // default_kernel_opts; vfioctl's block may set both.
    GrubEval ev({"modules", "default_kernel_opts"}, "modules");
    ev.file(boot.grub_file, root.read(boot.grub_file).value_or(""), 0, {});
    refuse_unclosed(ev, "update-extlinux");
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::extlinux;
    t.path = boot.grub_file;
    t.words = ev.vars["modules"];
    for (const auto& w : ev.vars["default_kernel_opts"]) t.words.push_back(w);
    t.words.insert(t.words.end(), ev.block_words.begin(), ev.block_words.end());
    t.block_path = ev.block_path;
    out.push_back(std::move(t));
  }
  if (boot.kind == BootLayout::Kind::ostree) {
    // The booted deployment's arguments: its loader entry is the one whose
    // ostree= matches the running kernel's (the next deployment's may
    // differ until a reboot); the running command line when none does.
    std::string running = root.read("/proc/cmdline").value_or("");
    std::string booted;
    for (auto w : split_ws(running)) {
      if (starts_with(w, "ostree=")) booted = std::string(w);
    }
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::ostree;
    t.path = "/proc/cmdline";
    for (const auto& e : boot.entries) {
      auto text = root.read(e);
      if (!text || booted.empty()) continue;
      auto words = words_of_lines(e, *text, true);
      if (std::any_of(words.begin(), words.end(), [&](const CmdWord& w) { return w.text == booted; })) {
        t.path = e;
        t.words = std::move(words);
        break;
      }
    }
    if (t.path == "/proc/cmdline") {
      for (auto w : split_ws(running)) t.words.push_back({std::string(w), {"/proc/cmdline", 0}, 0});
    }
    for (auto& w : t.words) w.at.line = 0;  // not edited in place: rpm-ostree writes the entries
    out.push_back(std::move(t));
    return out;
  }
  if (boot.kind == BootLayout::Kind::grub) {
    GrubEval ev({"GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_CMDLINE_LINUX"});
    auto dropins = [&]() {
      for (const auto& d : boot.grub_dropins) {
        if (auto text = root.read(d)) ev.file(d, *text, 0, {});
      }
    };
    auto text = root.read(boot.grub_file).value_or("");
    if (boot.grub_dropins_line > 0) {
      ev.file(boot.grub_file, text, boot.grub_dropins_line, dropins);
    } else {
      ev.file(boot.grub_file, text, 0, {});
      dropins();
    }
    refuse_unclosed(ev, "GRUB's scripts");
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::grub;
    t.words = ev.vars["GRUB_CMDLINE_LINUX"];
    for (const auto& w : ev.vars["GRUB_CMDLINE_LINUX_DEFAULT"]) t.words.push_back(w);
    t.path = ev.last_file.count(boot.grub_var) ? ev.last_file[boot.grub_var] : boot.grub_file;
    t.words.insert(t.words.end(), ev.block_words.begin(), ev.block_words.end());
    t.block_path = ev.block_path;
    out.push_back(std::move(t));
  }
  if (boot.kernel_cmdline) {
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::kernel_cmdline;
    t.path = "/etc/kernel/cmdline";
    t.words = words_of_lines(t.path, root.read(t.path).value_or(""), false);
    out.push_back(std::move(t));
  }
  for (const auto& e : boot.entries) {
    auto text = root.read(e);
    if (!text) continue;
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::entry;
    t.path = e;
    t.words = words_of_lines(e, *text, true);
    out.push_back(std::move(t));
  }
  if (!boot.kernelstub.empty()) {
    CmdlineTarget t;
    t.kind = CmdlineTarget::Kind::kernelstub;
    t.path = boot.kernelstub;
    try {
      auto j = parse_json(root.read(boot.kernelstub).value_or(""));
      const auto& opts = j.at("user").at("kernel_options");
      for (const auto& o : opts) {
        CmdWord w;
        w.text = o.get<std::string>();
        w.at = {boot.kernelstub, 0};
        t.words.push_back(std::move(w));
      }
      out.push_back(std::move(t));
    } catch (const std::exception&) {
      notes.push_back(boot.kernelstub + ": not kernelstub's JSON (user.kernel_options); its options were not read");
    }
  }
  return out;
}

InitramfsModules read_initramfs_modules(const Root& root, const InitramfsLayout& ir) {
  InitramfsModules m;
  switch (ir.kind) {
    case InitramfsLayout::Kind::initramfs_tools: {
      const std::string path = "/etc/initramfs-tools/modules";
      std::string text = root.read(path).value_or("");
      for (const auto& l : lines_of(text)) {
        std::string_view t = trim(l.text);
        if (l.ours || t.empty() || t[0] == '#') continue;
        auto words = split_ws(t);
        ModuleWord w;
        w.name = module_name(std::string(words[0]));
        w.args = std::string(trim(t.substr(words[0].size())));
        w.at = {path, l.number};
        m.modules.push_back(std::move(w));
      }
      break;
    }
    case InitramfsLayout::Kind::mkinitcpio: {
      for (const auto& path : ir.files) {
        auto text = root.read(path);
        if (!text) continue;
        auto lines = lines_of(*text);
        for (size_t i = 0; i < lines.size(); ++i) {
          std::string_view t = trim(lines[i].text);
          // MODULES=(a b), MODULES+=(c), or the older string MODULES="a b".
          bool append = starts_with(t, "MODULES+=(");
          if (!append && !starts_with(t, "MODULES=(") && !starts_with(t, "MODULES=\"")) continue;
          size_t open = lines[i].text.find_first_of("(\"");
          auto [words, extra] = array_at(lines, i, open);
          if (!append) {
            m.modules.clear();
            m.array = {path, lines[i].number};
          }
          for (const auto& w : words) m.modules.push_back({module_name(w), "", {path, lines[i].number}});
          i += extra;
        }
      }
      break;
    }
    case InitramfsLayout::Kind::dracut: {
      for (const auto& path : ir.files) {
        if (path == "/etc/dracut.conf.d/vfioctl.conf") continue;
        auto text = root.read(path);
        if (!text) continue;
        for (const auto& l : lines_of(*text)) {
          std::string_view t = trim(l.text);
          for (std::string_view key : {"force_drivers", "add_drivers"}) {
            if (!starts_with(t, key)) continue;
            std::string_view rest = t.substr(key.size());
            bool append = starts_with(rest, "+=");
            if (!append && !starts_with(rest, "=")) continue;
            std::string value = unquote(trim(rest.substr(append ? 2 : 1)));
            if (key == "force_drivers") {
              if (!append) m.modules.clear();
              for (auto w : split_ws(value)) m.modules.push_back({module_name(std::string(w)), "", {path, l.number}});
            } else {
              if (!append) m.add_only.clear();
              for (auto w : split_ws(value)) m.add_only.push_back(module_name(std::string(w)));
            }
          }
        }
      }
      break;
    }
    case InitramfsLayout::Kind::mkinitfs:  // features put modules in the image; the kernel's modules= loads them
    case InitramfsLayout::Kind::none: break;
  }
  return m;
}

}  // namespace vfioctl::setup
