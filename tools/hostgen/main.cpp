// vfioctl-hostgen: writes a fixture host root from a description.
//   vfioctl-hostgen [--replace] [--depfile FILE] DESCRIPTION.toml OUTDIR
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "generate.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: vfioctl-hostgen [--replace] [--depfile FILE] DESCRIPTION.toml OUTDIR\n"
               "Writes a host root (sys/, proc/, ...) for vfioctl --root; OUTDIR must be empty or absent.\n"
               "  --replace       OUTDIR may hold a tree: the new one is written beside it and replaces\n"
               "                  it in one rename (an interrupted run never leaves half a tree)\n"
               "  --depfile FILE  also write FILE, a Make-style list of the files read\n"
               "                  (target: OUTDIR/README.md)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool replace = false;
  std::string depfile;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--replace") {
      replace = true;
    } else if (a == "--depfile" && i + 1 < argc) {
      depfile = argv[++i];
    } else if (a.rfind("--", 0) == 0) {
      return usage();
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 2) return usage();
  try {
    auto desc = vfioctl::hostgen::load_description(args[0]);
    if (replace)
      vfioctl::hostgen::replace_host(desc, args[1]);
    else
      vfioctl::hostgen::generate_host(desc, args[1]);
    if (!depfile.empty())
      vfioctl::hostgen::write_depfile(depfile, std::filesystem::path(args[1]) / "README.md", desc.inputs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vfioctl-hostgen: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
