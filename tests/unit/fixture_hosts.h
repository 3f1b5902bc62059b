// The fixture hosts of tests/hosts/, read once per test program.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"

namespace vfioctl::test {

// tests/hosts/NAME, every part read.
inline const Host& fixture_host(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Host>> cache;
  auto& h = cache[name];
  if (!h) {
    Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name);
    h = std::make_unique<Host>(read_host(root));
  }
  return *h;
}

}  // namespace vfioctl::test
