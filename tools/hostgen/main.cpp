// vfioctl-hostgen: writes a fixture host root from a description.
//   vfioctl-hostgen DESCRIPTION.toml OUTDIR
#include <cstdio>
#include <exception>

#include "generate.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: vfioctl-hostgen DESCRIPTION.toml OUTDIR\n"
                 "Writes a host root (sys/, proc/, ...) for vfioctl --root; OUTDIR must be empty or absent.\n");
    return 2;
  }
  try {
    auto desc = vfioctl::hostgen::load_description(argv[1]);
    vfioctl::hostgen::generate_host(desc, argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vfioctl-hostgen: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
