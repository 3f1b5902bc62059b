// vfioctl topo on fixture hosts: siblings as the kernel numbers them.
#include <gtest/gtest.h>

#include "run.h"

namespace vfioctl::test {
namespace {

TEST(CliTopo, LiveHostRunsToTheEnd) {
  Result r = vfioctl({"topo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("CPUs online"), std::string::npos);
}

}  // namespace
}  // namespace vfioctl::test
