// libFuzzer target over setup's reading of a host's boot configuration and
// its plan (setup/layout, current, merge, host_edits, setup_plan). A scratch
// copy of tests/hosts/intel-desktop-z370 with tests/setup/distros/debian-12
// over it is made once per process; each input is split at "\n--8<--\n"
// lines and part N replaces kFiles[N] (a part of one NUL byte removes the
// file), the others keep the fixture's content (or stay missing). setup
// plans `--device 01:00.0 --isolate 2-3`; then the plan's files are written
// as planned and setup plans again, which must change nothing (every edit
// is idempotent, whatever the files held). Error is expected only with bad-input or refused
// codes (a quote that never closes, no bootloader left).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/setup/setup_plan.h"
#include "vfioctl/util/error.h"

namespace {

namespace fs = std::filesystem;
using namespace vfioctl;
using fuzz::check;

const std::vector<std::string> kFiles = {
    "/etc/default/grub",
    "/etc/modprobe.d/vfio.conf",
    "/etc/default/grub.d/50-cloudimg-settings.cfg",
    "/etc/initramfs-tools/modules",
    "/etc/modprobe.d/vfioctl.conf",
    "/etc/modprobe.d/zz-softdep.conf",
    "/etc/default/grub.d/init-select.cfg",
    // Alpine's extlinux, read when /etc/default/grub is gone (a part of one
    // NUL byte): the scratch has a /boot/extlinux.conf stand-in.
    "/etc/update-extlinux.conf",
};

void put(const fs::path& p, const std::optional<std::string>& content) {
  std::error_code ec;
  fs::remove(p, ec);
  if (!content) return;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream(p, std::ios::binary) << *content;
}

struct Tree {
  fs::path dir;
  std::vector<std::optional<std::string>> originals;
  Host host;
};

Tree& tree() {
  static Tree t = [] {
    Tree r;
    std::string src = VFIOCTL_SOURCE_DIR;
    r.dir = fuzz::scratch_root({src + "/tests/hosts/intel-desktop-z370", src + "/tests/setup/distros/debian-12"});
    put(r.dir / "boot/extlinux.conf", "# stand-in for the file update-extlinux writes\n");
    for (const auto& f : kFiles) r.originals.push_back(fuzz::slurp(r.dir / f.substr(1)));
    r.host = read_host(Root(r.dir));
    return r;
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  Tree& t = tree();
  auto parts = fuzz::split_parts(data, size);
  for (size_t i = 0; i < kFiles.size(); ++i) {
    std::optional<std::string> c = t.originals[i];
    if (i < parts.size()) c = parts[i] == std::string(1, '\0') ? std::nullopt : std::optional<std::string>(parts[i]);
    put(t.dir / kFiles[i].substr(1), c);
  }

  setup::SetupRequest req;
  req.devices = {"01:00.0"};
  req.isolate = "2-3";
  std::vector<std::pair<std::string, std::optional<std::string>>> written;  // path, content before
  try {
    setup::Plan plan = setup::plan_setup(Root(t.dir), t.host, req);
    for (const auto* f : plan.changed()) {
      written.push_back({f->path, f->before});
      put(t.dir / f->path.substr(1), f->after);
    }
    setup::Plan again = setup::plan_setup(Root(t.dir), t.host, req);
    for (const auto* f : again.changed()) {
      // A second setup changed a file the first one wrote as planned.
      std::fprintf(stderr, "setup_fuzz: the second plan changes %s:\n--- first\n%s\n--- second\n%s\n", f->path.c_str(),
                   f->before.value_or("(none)").c_str(), f->after.value_or("(removed)").c_str());
      check(false);
    }
  } catch (const Error& e) {
    check(e.code() == ExitCode::bad_input || e.code() == ExitCode::refused);
  }
  // Back to the fixture for the next input.
  for (const auto& [path, before] : written) put(t.dir / path.substr(1), before);
  return 0;
}
