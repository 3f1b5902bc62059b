// vfioctl lint as a user runs it: exit codes, unreadable files, --disable,
// --min-severity, --host and --root, and the three formats.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

TEST(CliLint, WarningsOnlyExitZeroAndPrintLikeACompiler) {
  Result r = vfioctl({"lint", realdata(kJoeP)});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::string loc = realdata(kJoeP);
  EXPECT_TRUE(has(r.out, loc + ":202: warning: memballoon model='virtio' in a guest with passed-through PCI devices "
                             "[L009]\n    why: "))
      << r.out;
  EXPECT_TRUE(has(r.out, loc + ":15: warning: vCPUs are pinned but the emulator is not"));
  EXPECT_TRUE(has(r.out, "\n    fix: replace it with <memballoon model='none'/>\n"));
  EXPECT_TRUE(has(r.out, "1 file checked: 3 warnings"));
  EXPECT_TRUE(has(r.out, "Host rules (L101-L110) not run"));
  EXPECT_EQ(r.err, "");
}

TEST(CliLint, ErrorExitsOne) {
  Scratch s;
  Result r = vfioctl({"lint", s.file("topo.xml", kTopologyError)});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(has(r.out, "topo.xml:3: error: topology sockets=1 cores=4 threads=2 makes 8 vCPUs, but <vcpu> is 4 "
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
  EXPECT_TRUE(has(r.err, "vfioctl: error: " + s.path("missing.xml") + ": cannot read: No such file or directory"))
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
  EXPECT_TRUE(has(dir.err, "it is a directory")) << dir.err;
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
    EXPECT_EQ(doc["summary"]["error"], 1);
    EXPECT_EQ(doc["summary"]["warning"], 5);
    bool found = false;
    for (const auto& f : doc["findings"]) {
      for (const char* k : {"id", "severity", "file", "line", "message", "why", "fix"}) EXPECT_TRUE(f.contains(k)) << k;
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
