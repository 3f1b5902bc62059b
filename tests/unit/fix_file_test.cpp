// lint --fix on a file (lint/fix_file.h): in place with FILE.bak, through a
// link to its target, or to -o OUT; the mode and owner it keeps; nothing
// written for a file that does not parse.
#include "vfioctl/lint/fix_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lint_rules_guests.h"
#include "temp_tree.h"

namespace vfioctl::lint {
namespace {

namespace fs = std::filesystem;
using namespace test_guests;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A guest with a balloon beside its passed devices: L009 removes it.
std::string ballooned() {
  Guest g;
  g.other_devices = "<memballoon model='virtio'/>";
  return g.xml();
}

// Records the writes instead of doing them.
class RecordingFs : public FileSystem {
 public:
  std::vector<std::pair<std::string, mode_t>> writes;
  void write(const std::string& path, const std::string&, const FileMode& mode) override {
    writes.emplace_back(path, mode.mode);
  }
  void remove(const std::string&) override {}
  void write_attribute(const std::string&, const std::string&) override {}
};

TEST(FixFile, InPlaceKeepsTheOriginalAsBak) {
  test::TempTree t;
  std::string path = t.str() + "/win.xml";
  std::string xml = ballooned();
  std::ofstream(path) << xml;
  ::chmod(path.c_str(), 0600);
  std::string said;
  FileReport r = fix_file(real_fs(), path, xml, "", nullptr, {}, said);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.fixed, (std::vector<std::string>{"L009"}));
  EXPECT_EQ(said, path + ": fixed 1 finding (L009) (the original is " + path + ".bak)");
  EXPECT_EQ(slurp(path + ".bak"), xml);
  EXPECT_EQ(slurp(path).find("memballoon model='virtio'"), std::string::npos);
  EXPECT_EQ(file_mode(path)->mode, 0600u) << "the file keeps its mode";
  EXPECT_EQ(file_mode(path + ".bak")->mode, 0600u);
}

TEST(FixFile, ALinkStaysALink) {
  test::TempTree t;
  std::string target = t.str() + "/real.xml";
  std::string link = t.str() + "/link.xml";
  std::ofstream(target) << ballooned();
  fs::create_symlink(target, link);
  std::string said;
  fix_file(real_fs(), link, ballooned(), "", nullptr, {}, said);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(slurp(target).find("memballoon model='virtio'"), std::string::npos) << "the target is rewritten";
  EXPECT_EQ(slurp(link + ".bak"), ballooned());
}

TEST(FixFile, ToAnOutputEvenWhenNothingChangedButNotTwice) {
  test::TempTree t;
  std::string out = t.str() + "/out.xml";
  std::string clean = Guest().xml();
  std::string said;
  RecordingFs rec;
  fix_file(rec, "-", clean, out, nullptr, {}, said);
  EXPECT_EQ(said, "<stdin>: nothing to fix, written to " + out);
  ASSERT_EQ(rec.writes.size(), 1u);
  EXPECT_EQ(rec.writes[0].first, out);
  EXPECT_EQ(rec.writes[0].second, 0644u) << "standard input has no mode to keep";

  std::ofstream(out) << clean;
  RecordingFs again;
  fix_file(again, "-", clean, out, nullptr, {}, said);
  EXPECT_TRUE(again.writes.empty()) << "OUT holds the result already";
}

TEST(FixFile, NothingIsWrittenForAFileThatDoesNotParse) {
  RecordingFs rec;
  std::string said;
  FileReport r = fix_file(rec, "bad.xml", "<domain", "", nullptr, {}, said);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.file, "bad.xml");
  EXPECT_TRUE(rec.writes.empty());
  EXPECT_TRUE(said.empty());
}

}  // namespace
}  // namespace vfioctl::lint
