// vfioctl lint as a user runs it: exit codes, unreadable files, --disable,
// --min-severity, --host and --root, and the three formats.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "run.h"

namespace vfioctl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

std::string realdata(const std::string& name) {
  return std::string(VFIOCTL_SOURCE_DIR) + "/tests/lint/realdata/" + name;
}

const std::string kJoeP = "joe-p_vfio-headless_win10_ryzen3900x.xml";
const std::string kStewi = "stewi1014_vfio_win11.xml";

// A scratch directory with files written by the test, removed afterwards.
class Scratch {
 public:
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "vfioctl-lint-XXXXXX").string();
    m_dir = ::mkdtemp(tmpl.data());
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(m_dir / name, std::ios::binary) << text;
    return (m_dir / name).string();
  }
  std::string path(const std::string& name) const { return (m_dir / name).string(); }

 private:
  fs::path m_dir;
};

const char* kTopologyError =
    "<domain type='kvm'>\n"
    "  <vcpu>4</vcpu>\n"
    "  <cpu mode='host-passthrough'><topology sockets='1' cores='4' threads='2'/></cpu>\n"
    "</domain>\n";

const char* kClean = "<domain type='kvm'>\n  <vcpu>2</vcpu>\n</domain>\n";

// Every published domain XML the lint tests hold: tests/lint/*/ (realdata,
// the precision corpus), by path.
std::vector<std::string> lint_test_files() {
  std::vector<std::string> out;
  for (const auto& dir : fs::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/tests/lint")) {
    if (!dir.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(dir.path()))
      if (e.path().extension() == ".xml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The files among `paths` that libvirt's own parser (the test driver, with
// schema validation) defines. One virsh reads every command from a script
// in `dir`; each define runs on a fresh connection, whose test driver starts
// from its default state, so no file sees another's domains (as with one
// virsh each). virsh says "Domain 'NAME' defined from PATH" for each success;
// the closing echo shows that it read the whole script.
std::set<std::string> libvirt_defines(const std::vector<std::string>& paths, const std::string& dir) {
  std::string script;
  for (const auto& p : paths) script += "connect test:///default\ndefine --validate " + quote(p) + "\n";
  script += "echo vfioctl-batch-end\n";
  std::string file = (fs::path(dir) / "virsh-batch").string();
  std::ofstream(file, std::ios::binary) << script;
  Result r = shell("(virsh -c test:///default <" + quote(file) + " 2>/dev/null)");
  EXPECT_TRUE(has(r.out, "\nvfioctl-batch-end\n")) << "virsh stopped early:\n" << r.out;
  std::set<std::string> defined;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.rfind(" defined from ");
    if (line.rfind("Domain ", 0) == 0 && at != std::string::npos) defined.insert(line.substr(at + 14));
  }
  return defined;
}

// virt-xml-validate's complaints about a file, without file names and lines;
// empty when it validates.
std::multiset<std::string> schema_errors(const std::string& path) {
  Result v = shell("virt-xml-validate " + quote(path) + " domain");
  std::multiset<std::string> out;
  if (v.rc == 0) return out;
  std::istringstream lines(v.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("fails to validate") != std::string::npos) continue;
    size_t at = line.find("Relax-NG validity error");
    out.insert(at == std::string::npos ? line : line.substr(at));
  }
  if (out.empty()) out.insert(v.out);
  return out;
}

std::vector<std::string> comments_of(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = text.find("<!--"); at != std::string::npos; at = text.find("<!--", at + 4)) {
    out.push_back(text.substr(at, text.find("-->", at) + 3 - at));
  }
  return out;
}

TEST(CliLint, WarningsOnlyExitZeroAndPrintLikeACompiler) {
  Result r = vfioctl({"lint", realdata(kJoeP)});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::string loc = realdata(kJoeP);
  EXPECT_TRUE(has(r.out, loc + ":202: warning: memballoon model='virtio' in a guest with passed-through PCI devices "
                               "[L009]\n    why: "))
      << r.out;
  EXPECT_TRUE(has(r.out, loc + ":15: warning: vCPUs are pinned but the emulator is not"));
  EXPECT_TRUE(has(r.out, "\n    fix: replace it with <memballoon model='none'/> (fixable with --fix)\n"));
  EXPECT_TRUE(has(r.out, "1 file checked: 3 warnings; 1 fixable with --fix"));
  EXPECT_TRUE(has(r.out, "Host rules (L101-L111) not run"));
  EXPECT_EQ(r.err, "");
}

TEST(CliLint, ErrorExitsOne) {
  Scratch s;
  Result r = vfioctl({"lint", s.file("topo.xml", kTopologyError)});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.out,
                  "topo.xml:3: error: topology sockets=1 cores=4 threads=2 makes 8 vCPUs, but <vcpu> is 4 "
                  "[L006]"))
      << r.out;
  EXPECT_EQ(vfioctl({"lint", s.file("clean.xml", kClean)}).rc, 0);
}

TEST(CliLint, UnreadableAndMalformedFilesExitTwoAndTheOthersAreStillChecked) {
  Scratch s;
  std::string bad = s.file("bad.xml", "<domain>\n  <vcpu>4</vcpu>\n  <cputune>\n</domain>\n");
  std::string net = s.file("net.xml", "<network><name>default</name></network>\n");
  std::string topo = s.file("topo.xml", kTopologyError);
  Result r = vfioctl({"lint", s.path("missing.xml"), bad, net, topo, realdata(kJoeP)});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(
      r.err, "vfioctl: error: " + s.path("missing.xml") + ": cannot read the domain XML: No such file or directory"))
      << r.err;
  EXPECT_TRUE(has(r.err, "vfioctl: error: " + bad + ":4: not well-formed XML")) << r.err;
  EXPECT_TRUE(has(r.err, "vfioctl: error: " + net + ":1: not a libvirt domain")) << r.err;
  // The readable files were still checked.
  EXPECT_TRUE(has(r.out, topo + ":3: error:"));
  EXPECT_TRUE(has(r.out, "[L009]"));
  EXPECT_TRUE(has(r.out, "5 files checked: 1 error, 3 warnings (3 could not be read)")) << r.out;
  // A directory is not a file.
  Result dir = vfioctl({"lint", s.path("")});
  EXPECT_EQ(dir.rc, 2);
  EXPECT_TRUE(has(dir.err, "is a directory")) << dir.err;
}

TEST(CliLint, Disable) {
  Result r = vfioctl({"lint", "--disable", "L009", "--disable", "L021,l002", realdata(kJoeP)});
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(has(r.out, "[L009]"));
  EXPECT_FALSE(has(r.out, "[L021]"));
  EXPECT_FALSE(has(r.out, "[L002]"));
  EXPECT_TRUE(has(r.out, "no problems found")) << r.out;
  Scratch s;
  EXPECT_EQ(vfioctl({"lint", "--disable", "L006", s.file("topo.xml", kTopologyError)}).rc, 0);
  Result bad = vfioctl({"lint", "--disable", "L0006", realdata(kJoeP)});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(has(bad.err, "no such rule; did you mean L006?")) << bad.err;
  EXPECT_EQ(bad.out, "");
}

TEST(CliLint, MinSeverity) {
  Scratch s;
  std::string topo = s.file("topo.xml", kTopologyError);
  Result r = vfioctl({"lint", "--min-severity", "error", realdata(kJoeP), topo});
  EXPECT_EQ(r.rc, 1);
  EXPECT_FALSE(has(r.out, "warning:"));
  EXPECT_TRUE(has(r.out, "[L006]"));
  Result w = vfioctl({"lint", "--min-severity", "warning", realdata(kJoeP)});
  EXPECT_TRUE(has(w.out, "warning:"));
  EXPECT_EQ(vfioctl({"lint", "--min-severity", "loud", realdata(kJoeP)}).rc, 2);
}

TEST(CliLint, HostRulesWithRoot) {
  std::string file = "bryansteiner_gpu-passthrough-tutorial_win10_ryzen9-3900X.xml";
  Result alone = vfioctl({"lint", realdata(file)});
  EXPECT_EQ(alone.rc, 0);
  EXPECT_FALSE(has(alone.out, "[L105]"));
  // --root implies the host rules; its 4-function card is not on this host.
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "lint", realdata(file)});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_TRUE(has(r.out, ":200: error: host device 0d:00.1 does not exist on this host [L105]")) << r.out;
  EXPECT_FALSE(has(r.out, "Host rules"));
  Result explicit_host = vfioctl({"lint", "--host", "--root", host("amd-ryzen9-3900x"), realdata(file)});
  EXPECT_EQ(explicit_host.out, r.out);
  Result bad_root = vfioctl({"--root", "/nonexistent-root", "lint", realdata(file)});
  EXPECT_EQ(bad_root.rc, 2);
}

TEST(CliLint, JsonFormat) {
  Scratch s;
  std::string topo = s.file("topo.xml", kTopologyError);
  for (const auto& args : {std::vector<std::string>{"lint", "--format", "json", realdata(kStewi), topo},
                           std::vector<std::string>{"--json", "lint", realdata(kStewi), topo}}) {
    Result r = vfioctl(args);
    EXPECT_EQ(r.rc, 1);
    json doc = r.json();
    ASSERT_EQ(doc["files"].size(), 2u);
    EXPECT_TRUE(doc["files"][0]["fixed"].is_null());
    EXPECT_EQ(doc["summary"]["error"], 1);
    EXPECT_EQ(doc["summary"]["warning"], 5);
    bool found = false;
    for (const auto& f : doc["findings"]) {
      for (const char* k : {"id", "severity", "file", "line", "message", "why", "fix", "fixable"}) {
        EXPECT_TRUE(f.contains(k)) << k;
      }
      EXPECT_EQ(f["fixable"], f["id"] == "L014" || f["id"] == "L015") << f["id"];
      if (f["id"] == "L010") {
        found = true;
        EXPECT_EQ(f["line"], 9);
        EXPECT_EQ(f["severity"], "warning");
        EXPECT_EQ(f["file"], realdata(kStewi));
      }
    }
    EXPECT_TRUE(found);
  }
}

TEST(CliLint, SarifFormat) {
  Scratch s;
  std::string bad = s.file("bad.xml", "<domain>\n<vcpu>\n</domain>");
  Result r = vfioctl({"lint", "--format", "sarif", realdata(kJoeP), bad});
  EXPECT_EQ(r.rc, 2);
  json doc = r.json();
  EXPECT_EQ(doc["version"], "2.1.0");
  const json& run = doc["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "vfioctl");
  EXPECT_EQ(run["results"].size(), 3u);
  EXPECT_EQ(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 15);
  EXPECT_EQ(run["invocations"][0]["executionSuccessful"], false);
  EXPECT_TRUE(has(r.err, "bad.xml:3: not well-formed XML"));
}

TEST(CliLint, StandardInput) {
  Scratch s;
  std::string cmd = std::string("LC_ALL=C ") + quote(VFIOCTL_BIN) + " lint - < " +
                    quote(s.file("topo.xml", kTopologyError)) + " > " + quote(s.path("out"));
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_TRUE(has(slurp(s.path("out")), "<stdin>:3: error:"));
}

// --fix -o on every published file the lint tests hold (the property the
// fixes keep): the result parses, passes libvirt's schema (or fails exactly
// as the original does, for syntax newer than the schema here), libvirt's
// parser defines it whenever it defined the original, it draws no error the
// original did not (so QEMU's Hyper-V dependencies hold: L029), none of the
// fixed findings is left, every comment stays, and a second --fix changes
// nothing.
TEST(CliLintFix, EveryPublishedFileFixesSafely) {
  Scratch s;
  int fixed_files = 0, realdata_fixed = 0, files = 0, accepted = 0;
  std::vector<std::pair<std::string, std::string>> written;  // original, fixed
  for (const auto& path : lint_test_files()) {
    std::string name = fs::path(path).parent_path().filename().string() + "-" + fs::path(path).filename().string();
    SCOPED_TRACE(path);
    ++files;
    std::string out = s.path(name), again = s.path("again-" + name);
    Result r = vfioctl({"lint", "--fix", "-o", out, path});
    ASSERT_NE(r.rc, 2) << r.err;
    ASSERT_TRUE(fs::exists(out));
    // "FILE: fixed N findings (L009, L014), written to OUT" or "FILE: nothing to fix, written to OUT".
    std::string first_line = r.out.substr(0, r.out.find('\n'));
    ASSERT_TRUE(has(first_line, ", written to " + out)) << first_line;
    std::set<std::string> fixed_ids;
    if (!has(first_line, ": nothing to fix")) {
      size_t open = first_line.find(" findings ("), close = first_line.find(')');
      if (open == std::string::npos) open = first_line.find(" finding (");
      ASSERT_TRUE(open != std::string::npos && close != std::string::npos) << first_line;
      std::string ids = first_line.substr(first_line.find('(', open) + 1, close - first_line.find('(', open) - 1);
      for (size_t at = 0; at < ids.size(); at += 6) fixed_ids.insert(ids.substr(at, 4));
    }
    if (!fixed_ids.empty()) {
      ++fixed_files;
      if (has(path, "/realdata/")) ++realdata_fixed;
    }

    EXPECT_EQ(schema_errors(out), schema_errors(path));
    written.emplace_back(path, out);
    std::set<std::string> errors_before;
    json before = vfioctl({"lint", "--format", "json", path}).json();
    for (const auto& f : before["findings"])
      if (f["severity"] == "error") errors_before.insert(f["id"].get<std::string>());
    json relint = vfioctl({"lint", "--format", "json", out}).json();
    for (const auto& f : relint["findings"]) {
      EXPECT_FALSE(fixed_ids.count(f["id"])) << f["id"] << ": " << f["message"];
      EXPECT_FALSE(f["fixable"].get<bool>()) << f["id"] << ": " << f["message"];
      if (f["severity"] == "error") {
        EXPECT_TRUE(errors_before.count(f["id"].get<std::string>()))
            << "a new error: " << f["id"] << ": " << f["message"];
      }
    }
    std::string original = slurp(path), result = slurp(out);
    for (const auto& c : comments_of(original)) EXPECT_TRUE(has(result, c)) << c;
    Result second = vfioctl({"lint", "--fix", "-o", again, out});
    EXPECT_TRUE(has(second.out, out + ": nothing to fix")) << second.out;
    EXPECT_EQ(slurp(again), result);
  }
  std::vector<std::string> all;
  for (const auto& [path, out] : written) all.insert(all.end(), {path, out});
  std::set<std::string> defined = libvirt_defines(all, s.path(""));
  for (const auto& [path, out] : written) {
    SCOPED_TRACE(path);
    if (!defined.count(path)) continue;
    ++accepted;
    EXPECT_TRUE(defined.count(out)) << "libvirt defined the original but not the fixed file";
  }
  EXPECT_GT(accepted, 0) << "libvirt's test driver defined none of the files: has virsh's output changed?";
  std::cerr << files << " published files: " << fixed_files << " fixed, " << accepted
            << " defined by libvirt's test driver before and after\n";
  EXPECT_GE(files, 7);
  // Seven realdata files draw fixable findings; two of them (Legion 5, Strix
  // G814) only L014's, which their -cpu override voids.
  EXPECT_EQ(realdata_fixed, 5);
}

TEST(CliLintFix, InPlaceKeepsTheOriginalAsBak) {
  Scratch s;
  std::string original = slurp(realdata(kJoeP));
  std::string file = s.file("win10.xml", original);
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  Result r = vfioctl({"lint", "--fix", file});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, file + ": fixed 1 finding (L009) (the original is " + file + ".bak)\n")) << r.out;
  EXPECT_FALSE(has(r.out, "[L009]"));
  EXPECT_TRUE(has(r.out, "1 file checked: 2 warnings\n")) << r.out;
  EXPECT_EQ(slurp(file + ".bak"), original);
  std::string fixed = slurp(file);
  EXPECT_TRUE(has(fixed, "    <memballoon model='none'/>\n  </devices>"));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Nothing left to fix: neither the file nor the backup is written again.
  ino_t inode = st.st_ino;
  Result again = vfioctl({"lint", "--fix", file});
  EXPECT_TRUE(has(again.out, file + ": nothing to fix\n")) << again.out;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);
  EXPECT_EQ(slurp(file), fixed);
  EXPECT_EQ(slurp(file + ".bak"), original);
  // No temporary files left beside it.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(s.path(""))) ++entries;
  EXPECT_EQ(entries, 2);
}

TEST(CliLintFix, RespectsDisableAndSaysWhatItDidInJson) {
  Scratch s;
  std::string out = s.path("out.xml");
  Result r = vfioctl({"lint", "--fix", "--disable", "L009", "-o", out, realdata(kJoeP)});
  EXPECT_TRUE(has(r.out, ": nothing to fix, written to " + out)) << r.out;
  EXPECT_EQ(slurp(out), slurp(realdata(kJoeP)));
  Result j = vfioctl({"lint", "--fix", "--format", "json", "-o", s.path("j.xml"), realdata(kStewi)});
  json doc = j.json();
  EXPECT_EQ(doc["files"][0]["file"], s.path("j.xml"));
  EXPECT_EQ(doc["files"][0]["fixed"], json::array({"L014", "L015"}));
  EXPECT_TRUE(has(j.err, ": fixed 2 findings (L014, L015), written to ")) << j.err;
}

TEST(CliLintFix, BadInputWritesNothingAndExitsTwo) {
  Scratch s;
  std::string bad = s.file("bad.xml", "<domain>\n  <vcpu>4</vcpu>\n  <cputune>\n</domain>\n");
  Result r = vfioctl({"lint", "--fix", bad});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, bad + ":4: not well-formed XML")) << r.err;
  EXPECT_FALSE(fs::exists(bad + ".bak"));
  EXPECT_EQ(slurp(bad), "<domain>\n  <vcpu>4</vcpu>\n  <cputune>\n</domain>\n");
  Result o = vfioctl({"lint", "--fix", "-o", s.path("out.xml"), bad});
  EXPECT_EQ(o.rc, 2);
  EXPECT_FALSE(fs::exists(s.path("out.xml")));
  Result missing = vfioctl({"lint", "--fix", "-o", s.path("out.xml"), s.path("missing.xml")});
  EXPECT_EQ(missing.rc, 2);
  EXPECT_FALSE(fs::exists(s.path("out.xml")));
  std::string net = s.file("net.xml", "<network><name>default</name></network>\n");
  EXPECT_EQ(vfioctl({"lint", "--fix", net}).rc, 2);
  EXPECT_FALSE(fs::exists(net + ".bak"));
}

TEST(CliLintFix, UsageErrors) {
  Scratch s;
  std::string a = s.file("a.xml", kClean), b = s.file("b.xml", kClean);
  Result no_fix = vfioctl({"lint", "-o", s.path("out.xml"), a});
  EXPECT_EQ(no_fix.rc, 2);
  EXPECT_TRUE(has(no_fix.err, "-o goes with --fix")) << no_fix.err;
  Result two = vfioctl({"lint", "--fix", "-o", s.path("out.xml"), a, b});
  EXPECT_EQ(two.rc, 2);
  EXPECT_TRUE(has(two.err, "-o takes one input file, not 2")) << two.err;
  EXPECT_FALSE(fs::exists(s.path("out.xml")));
  Result stdin_in_place = vfioctl({"lint", "--fix", "-"});
  EXPECT_EQ(stdin_in_place.rc, 2);
  EXPECT_TRUE(has(stdin_in_place.err, "give -o OUT")) << stdin_in_place.err;
}

TEST(CliLint, UsageErrors) {
  EXPECT_EQ(vfioctl({"lint"}).rc, 2);
  EXPECT_EQ(vfioctl({"lint", "--format", "xml", realdata(kJoeP)}).rc, 2);
  Result help = vfioctl({"lint", "--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_TRUE(has(help.out, "--min-severity"));
  EXPECT_TRUE(has(vfioctl({"--help"}).out, "lint"));
}

}  // namespace
}  // namespace vfioctl::test
