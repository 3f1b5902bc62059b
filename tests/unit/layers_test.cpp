// The layer rules of ARCHITECTURE.md ("Folders and who may depend on whom",
// "Rules that keep the layers honest"), checked over every file under src/:
// which folders a folder may include, which files may open files, run
// programs or write to the host, and how long a file and a function may be.
// The tables below repeat ARCHITECTURE.md's: change both together.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kSrc = std::string(VFIOCTL_SOURCE_DIR) + "/src";
constexpr int kMaxFileLines = 600;
constexpr int kMaxFunctionLines = 150;

// ARCHITECTURE.md's "may use" column: the library folders each folder's
// files may include (its own always). cli/ may include everything.
const std::map<std::string, std::set<std::string>> kMayUse = {
    {"util", {}},
    {"host", {"util"}},
    {"plan", {"host", "util"}},
    {"guest", {"plan", "host", "util"}},
    {"runtime", {"plan", "host", "util"}},
    {"lint", {"plan", "host", "util"}},
    {"setup", {"plan", "host", "util"}},
    {"cli", {"util", "host", "plan", "guest", "runtime", "lint", "setup"}},
};

// Single headers a folder may include beyond its column, with the reason.
struct HeaderException {
  std::string folder, header, why;
};
const std::vector<HeaderException> kHeaderExceptions = {
    {"guest", "runtime/domain_tune.h", "new writes the hook's <vfioctl:tune> element, doctor --guest reads it"},
    {"lint", "runtime/domain_tune.h", "L110 finds the tune element as the hook does"},
    {"setup", "guest/guest_plan.h", "guest_install creates the plan's images and defines its domain"},
    {"setup", "guest/spec.h", "guest_request takes --hugepages-for's pool and --for's qemu.conf block from a spec"},
};

// The files of each folder that may open files, run programs or write to
// the host (ARCHITECTURE.md, "Rules that keep the layers honest"), by
// path under src/vfioctl/. Folders not listed may do none of it.
const std::map<std::string, std::set<std::string>> kIoFiles = {
    // The primitives everyone else goes through.
    {"util",
     {"util/root_dir.cpp", "util/root_dir.h", "util/atomic_file.cpp", "util/atomic_file.h", "util/process.cpp",
      "util/process.h", "util/input_file.cpp", "util/input_file.h"}},
    // Every host read, through Root.
    {"host", {"host/root.cpp", "host/root.h"}},
    // Every read and write of the running host by the hook, through HostIo.
    {"runtime", {"runtime/host_io.cpp", "runtime/host_io.h"}},
    // The FileSystem and CommandRunner setup writes and runs through.
    {"setup", {"setup/transaction.cpp", "setup/transaction.h"}},
};

// Files outside those that may still do I/O, each with its reason. Keep it
// short: a new entry needs a reason a reviewer accepts.
struct IoException {
  std::string file, why;
};
const std::vector<IoException> kIoExceptions = {
    {"host/snapshot.cpp", "writes the snapshot the user asked for (a new directory, or a tarball made with tar)"},
    {"host/initramfs.cpp", "runs the host's initramfs lister, live host only, behind the Programs interface"},
    {"host/session.cpp", "opens /dev/kvm: only an open tells whether this user may use KVM"},
    {"runtime/qmp.cpp", "talks to QEMU over its QMP socket (vfioctl pin)"},
    {"setup/bind.cpp",
     "the FileSystem of fixture roots: a kernel attribute written there is a line appended to a file"},
    {"setup/guest_install.cpp",
     "the libvirt client (libvirt loaded with dlopen) and the check that an image is still "
     "missing right before qemu-img creates it"},
};

// Functions allowed past kMaxFunctionLines: data tables, one entry a line.
struct LongFunction {
  std::string file, name, why;
};
const std::vector<LongFunction> kLongFunctions = {
    {"vfioctl/lint/registry.cpp", "rules", "the rule table: one entry per rule"},
};

struct Source {
  std::string path;    // under src/: "vfioctl/host/pci.cpp", "cli/new.cpp"
  std::string folder;  // "host", "cli"
  std::vector<std::string> lines;
  std::vector<std::string> code;  // the lines without comments and literals
};

// Comments, string and character literals (raw strings included) blanked
// out, so that tokens in them do not count; line breaks kept.
std::string strip(const std::string& text) {
  std::string out = text;
  size_t i = 0, n = text.size();
  auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < n; ++k)
      if (out[k] != '\n') out[k] = ' ';
  };
  while (i < n) {
    if (text.compare(i, 2, "//") == 0) {
      size_t e = text.find('\n', i);
      e = e == std::string::npos ? n : e;
      blank(i, e);
      i = e;
    } else if (text.compare(i, 2, "/*") == 0) {
      size_t e = text.find("*/", i + 2);
      e = e == std::string::npos ? n : e + 2;
      blank(i, e);
      i = e;
    } else if (text[i] == 'R' && i + 1 < n && text[i + 1] == '"' && (i == 0 || !std::isalnum(text[i - 1]))) {
      size_t open = text.find('(', i);
      std::string end = ")" + text.substr(i + 2, open - i - 2) + "\"";
      size_t e = text.find(end, open);
      e = e == std::string::npos ? n : e + end.size();
      blank(i + 1, e);
      i = e;
    } else if (text[i] == '"' || (text[i] == '\'' && (i == 0 || !std::isxdigit(text[i - 1])))) {
      char q = text[i];
      size_t e = i + 1;
      while (e < n && text[e] != q && text[e] != '\n') e += text[e] == '\\' ? 2 : 1;
      blank(i + 1, e);
      i = e + 1;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const std::vector<Source>& sources() {
  static const std::vector<Source> all = [] {
    std::vector<Source> out;
    for (const auto& e : fs::recursive_directory_iterator(kSrc)) {
      std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
      Source s;
      s.path = fs::relative(e.path(), kSrc).string();
      std::vector<std::string> parts;
      for (const auto& p : fs::path(s.path)) parts.push_back(p.string());
      s.folder = parts[0] == "vfioctl" && parts.size() > 2 ? parts[1] : parts[0];
      std::ifstream f(e.path(), std::ios::binary);
      std::stringstream text;
      text << f.rdbuf();
      s.lines = split_lines(text.str());
      s.code = split_lines(strip(text.str()));
      s.code.resize(s.lines.size());
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) { return a.path < b.path; });
    return out;
  }();
  return all;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

size_t indentation(const std::string& line) { return line.find_first_not_of(' '); }

// Calls that open files, list directories, run or signal programs, or change
// the host. Names common enough to be methods (read, write, stat, ...) count
// only as `::name(`, the form this code base calls POSIX with; the others
// count however they are written.
const std::vector<std::string> kPlainCalls = {
    "fopen",   "fdopen",      "freopen",      "popen",        "fork",    "vfork",   "execv",
    "execve",  "execvp",      "execvpe",      "execl",        "execlp",  "execle",  "posix_spawn",
    "opendir", "fdopendir",   "openat",       "openat2",      "mkdtemp", "mkstemp", "sched_setaffinity",
    "dlopen",  "run_process", "inotify_init", "inotify_init1"};
const std::vector<std::string> kQualifiedCalls = {
    "open",    "creat",    "read",   "write",    "pread",  "pwrite",   "stat",      "lstat",
    "fstatat", "statx",    "unlink", "unlinkat", "rename", "renameat", "mkdir",     "rmdir",
    "symlink", "readlink", "chmod",  "fchmod",   "chown",  "truncate", "ftruncate", "access",
    "socket",  "connect",  "kill",   "ioctl",    "mount",  "umount2",  "flock",     "system"};
const std::vector<std::string> kTypes = {"std::ifstream", "std::ofstream", "std::fstream", "std::filesystem",
                                         "std::system(",  "std::fopen(",   "std::remove(", "std::rename("};

// Whether `name` at `at` is called: a whole name, then `(`.
bool call_at(const std::string& line, size_t at, const std::string& name) {
  size_t after = at + name.size();
  if (after < line.size() && word_char(line[after])) return false;
  while (after < line.size() && line[after] == ' ') ++after;
  return after < line.size() && line[after] == '(';
}

// The I/O tokens in one line of code, as written there.
std::vector<std::string> io_tokens(const std::string& line) {
  std::vector<std::string> found;
  for (const auto& t : kTypes) {
    for (size_t at = line.find(t); at != std::string::npos; at = line.find(t, at + 1))
      if (at == 0 || (!word_char(line[at - 1]) && line[at - 1] != ':')) found.push_back(t);
  }
  for (size_t at = line.find("fs::"); at != std::string::npos; at = line.find("fs::", at + 1))
    if (at == 0 || (!word_char(line[at - 1]) && line[at - 1] != ':')) found.push_back("fs::");
  auto scan = [&](const std::vector<std::string>& names, bool qualified) {
    for (const auto& name : names) {
      for (size_t at = line.find(name); at != std::string::npos; at = line.find(name, at + 1)) {
        if (!call_at(line, at, name)) continue;
        bool colons = at >= 2 && line.compare(at - 2, 2, "::") == 0;
        size_t before = colons ? at - 2 : at;
        bool free = before == 0 || (!word_char(line[before - 1]) && line[before - 1] != '.' &&
                                    line[before - 1] != '>' && line[before - 1] != ':');
        if (free && (colons || !qualified)) found.push_back((colons ? "::" : "") + name + "(");
      }
    }
  };
  scan(kPlainCalls, false);
  scan(kQualifiedCalls, true);
  return found;
}

std::string may_use_text(const std::string& folder) {
  std::string s;
  for (const auto& f : kMayUse.at(folder)) s += (s.empty() ? "" : ", ") + f + "/";
  return s.empty() ? "only itself" : s;
}

TEST(Layers, IncludesFollowTheFolderTable) {
  ASSERT_GT(sources().size(), 100u) << "no sources under " << kSrc;
  std::string bad;
  for (const Source& s : sources()) {
    ASSERT_TRUE(kMayUse.count(s.folder)) << "src/" << s.path << ": folder " << s.folder
                                         << "/ is not in ARCHITECTURE.md's table; add its row there and here";
    for (size_t i = 0; i < s.lines.size(); ++i) {
      const std::string& line = s.lines[i];
      size_t inc = line.find("#include \"");
      if (inc == std::string::npos || indentation(line) != inc) continue;
      std::string header = line.substr(inc + 10, line.find('"', inc + 10) - inc - 10);
      std::string where = "src/" + s.path + ":" + std::to_string(i + 1) + ": ";
      if (header.rfind("vfioctl/", 0) != 0) {
        if (s.folder != "cli")
          bad += where + "includes \"" + header + "\": the library includes \"vfioctl/...\" only\n";
        continue;
      }
      std::string rest = header.substr(8);
      std::string target = rest.substr(0, rest.find('/'));
      if (target == s.folder || kMayUse.at(s.folder).count(target)) continue;
      bool excepted = std::any_of(kHeaderExceptions.begin(), kHeaderExceptions.end(),
                                  [&](const HeaderException& e) { return e.folder == s.folder && e.header == rest; });
      if (!excepted)
        bad += where + "includes " + header + ", but " + s.folder + "/ may use " + may_use_text(s.folder) + "\n";
    }
  }
  EXPECT_TRUE(bad.empty()) << bad
                           << "(ARCHITECTURE.md, \"Folders and who may depend on whom\"). Move what the file needs "
                              "into a folder it may use, or pass it in as a plain type. A new dependency changes the "
                              "table in ARCHITECTURE.md and kMayUse (or kHeaderExceptions, with its reason) in "
                              "tests/unit/layers_test.cpp together.";
}

TEST(Layers, FileAndProcessCallsStayInTheirFolders) {
  std::set<std::string> allowed;
  for (const auto& [folder, files] : kIoFiles) allowed.insert(files.begin(), files.end());
  for (const auto& e : kIoExceptions) allowed.insert(e.file);
  std::string bad;
  for (const Source& s : sources()) {
    std::string key = s.path.rfind("vfioctl/", 0) == 0 ? s.path.substr(8) : s.path;
    if (allowed.count(key)) continue;
    for (size_t i = 0; i < s.code.size(); ++i) {
      std::string tokens;
      for (const auto& token : io_tokens(s.code[i])) tokens += (tokens.empty() ? "" : ", ") + token;
      if (!tokens.empty()) bad += "src/" + s.path + ":" + std::to_string(i + 1) + ": " + tokens + "\n";
    }
  }
  EXPECT_TRUE(bad.empty()) << bad
                           << "These files may not open files, run programs or change the host themselves "
                              "(ARCHITECTURE.md, \"Rules that keep the layers honest\"). Go through Root (host "
                              "reads), HostIo (the hook), FileSystem and CommandRunner (setup), or util's "
                              "input_file, atomic_file and process; move command-line I/O into the library. An "
                              "exception needs its reason in kIoExceptions in tests/unit/layers_test.cpp.";
}

// An exception whose file no longer does I/O (or is gone) goes.
TEST(Layers, EveryIoExceptionIsStillNeeded) {
  for (const auto& e : kIoExceptions) {
    auto s = std::find_if(sources().begin(), sources().end(),
                          [&](const Source& src) { return src.path == "vfioctl/" + e.file; });
    ASSERT_NE(s, sources().end()) << "src/vfioctl/" << e.file << " is gone: take it out of kIoExceptions";
    bool io = std::any_of(s->code.begin(), s->code.end(), [](const std::string& l) { return !io_tokens(l).empty(); });
    EXPECT_TRUE(io) << "src/vfioctl/" << e.file << " does no I/O any more: take it out of kIoExceptions";
  }
}

TEST(Layers, NoFileOverTheLineLimit) {
  std::string bad;
  for (const Source& s : sources()) {
    if (static_cast<int>(s.lines.size()) > kMaxFileLines)
      bad += "src/" + s.path + ":1: " + std::to_string(s.lines.size()) + " lines, over the limit of " +
             std::to_string(kMaxFileLines) + "\n";
  }
  EXPECT_TRUE(bad.empty()) << bad
                           << "Split each by what its parts do, as the folder's other files are split "
                              "(ARCHITECTURE.md names the pieces of each folder).";
}

// Function definitions as Google style writes them: a signature that starts
// at column 0 (or 2, in a class), holds a `(`, and ends with `{` on its
// first line or on a continuation line indented deeper; the body ends at the
// first `}` at the signature's column. Lambdas and blocks inside a body are
// part of it.
struct Function {
  size_t line;  // 0-based, the signature's first line
  int length;   // signature to closing brace
  std::string name;
};

bool control_line(const std::string& line) {
  static const char* const kWords[] = {"if",    "for",       "while",  "switch", "do",   "else",  "try",
                                       "catch", "namespace", "struct", "class",  "enum", "union", "extern"};
  size_t b = indentation(line);
  for (const char* w : kWords) {
    size_t n = std::string(w).size();
    if (line.compare(b, n, w) == 0 && (b + n == line.size() || !word_char(line[b + n]))) return true;
  }
  return false;
}

// Whether `prev` can be an earlier line of the signature that `next` goes on.
bool continues(const std::string& prev) {
  size_t last = prev.find_last_not_of(" \t");
  if (last == std::string::npos || std::string(";{}:").find(prev[last]) != std::string::npos) return false;
  size_t first = indentation(prev);
  return prev.compare(first, 2, "//") != 0 && prev[first] != '#' && prev.compare(first, 8, "template") != 0;
}

std::string function_name(const std::string& signature) {
  size_t paren = signature.find('(');
  if (paren == std::string::npos || paren == 0) return "";
  size_t end = signature.find_last_not_of(' ', paren - 1) + 1;
  size_t begin = end;
  while (begin > 0 && (word_char(signature[begin - 1]) || signature[begin - 1] == ':' || signature[begin - 1] == '~'))
    --begin;
  return signature.substr(begin, end - begin);
}

std::vector<Function> functions(const std::vector<std::string>& l) {
  std::vector<Function> out;
  for (size_t i = 0; i < l.size(); ++i) {
    size_t last = l[i].find_last_not_of(" \t");
    if (last == std::string::npos || l[i][last] != '{' || l[i][indentation(l[i])] == '}') continue;
    size_t before = l[i].find_last_not_of(' ', last == 0 ? 0 : last - 1);
    if (last > 0 && before != std::string::npos && l[i][before] == '=') continue;
    size_t s = i;
    while (s > 0 && continues(l[s - 1]) && indentation(l[s - 1]) < indentation(l[s])) --s;
    size_t ind = indentation(l[s]);
    if ((ind != 0 && ind != 2) || control_line(l[s])) continue;
    std::string signature;
    for (size_t k = s; k <= i; ++k) signature += l[k].substr(indentation(l[k])) + " ";
    if (signature.find('(') == std::string::npos) continue;
    std::string close = std::string(ind, ' ') + "}";
    size_t j = i + 1;
    while (j < l.size() && l[j].rfind(close, 0) != 0) ++j;
    out.push_back({s, static_cast<int>(j - s + 1), function_name(signature)});
    i = j;
  }
  return out;
}

TEST(Layers, NoFunctionOverTheLineLimit) {
  std::string bad;
  for (const Source& s : sources()) {
    for (const Function& f : functions(s.lines)) {
      if (f.length <= kMaxFunctionLines) continue;
      bool listed = std::any_of(kLongFunctions.begin(), kLongFunctions.end(), [&](const LongFunction& e) {
        return e.file == s.path && (f.name == e.name || f.name.ends_with("::" + e.name));
      });
      if (listed) continue;
      bad += "src/" + s.path + ":" + std::to_string(f.line + 1) + ": " + f.name + "() is " + std::to_string(f.length) +
             " lines, over the limit of " + std::to_string(kMaxFunctionLines) + "\n";
    }
  }
  EXPECT_TRUE(bad.empty()) << bad
                           << "Split each into functions that each do one step and say so in their names. A data "
                              "table (one entry a line) goes into kLongFunctions in tests/unit/layers_test.cpp, "
                              "with its reason.";
}

// The scanners themselves, on code written to trip them.
TEST(Layers, ScannersSeeWhatTheyShould) {
  EXPECT_EQ(io_tokens("  std::ifstream f(p);").size(), 1u);
  EXPECT_EQ(io_tokens("  int fd = ::open(path.c_str(), O_RDONLY);").size(), 1u);
  EXPECT_EQ(io_tokens("  ProcessResult r = run_process({\"tar\"});").size(), 1u);
  EXPECT_EQ(io_tokens("  for (auto& e : fs::directory_iterator(d)) {").size(), 1u);
  EXPECT_TRUE(io_tokens("  std::string s = root.read(\"/sys\");").empty());
  EXPECT_TRUE(io_tokens("  io.write(path, value); w.open('{');").empty());
  EXPECT_TRUE(io_tokens("std::string XmlEditor::write(const NewElement& e) const {").empty());
  EXPECT_TRUE(io_tokens("  ProcessResult run_process_like(int x);").empty());
  std::string stripped = strip("a(); // ::open(x)\nb(\"::write(\"); /* fork() */ c('\"');\nR\"(popen())\"");
  EXPECT_TRUE(io_tokens(stripped).empty()) << stripped;
  EXPECT_EQ(std::count(stripped.begin(), stripped.end(), '\n'), 2);

  std::vector<std::string> code = {"int f(int x) {",
                                   "  return x;",
                                   "}",
                                   "struct S {",
                                   "  void g() {",
                                   "    h();",
                                   "  }",
                                   "};",
                                   "const T t = {",
                                   "};",
                                   "std::string k(",
                                   "    int a) {",
                                   "  if (a) {",
                                   "  }",
                                   "}",
                                   "Foo::Foo(int a)",
                                   "    : m_a(a) {",
                                   "  auto l = [&](int y) {",
                                   "  };",
                                   "}"};
  auto fns = functions(code);
  ASSERT_EQ(fns.size(), 4u);
  EXPECT_EQ(fns[0].name, "f");
  EXPECT_EQ(fns[0].length, 3);
  EXPECT_EQ(fns[1].name, "g");
  EXPECT_EQ(fns[2].name, "k");
  EXPECT_EQ(fns[2].line, 10u);
  EXPECT_EQ(fns[2].length, 5);
  EXPECT_EQ(fns[3].name, "Foo::Foo");
  EXPECT_EQ(fns[3].length, 5);
}

}  // namespace
