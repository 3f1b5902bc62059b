// What `vfioctl tune start` checks on the host (runtime/tune_checks.h), on
// scratch trees read through the live HostIo.
#include "vfioctl/runtime/tune_checks.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/util/error.h"

namespace vfioctl::runtime {
namespace {

DomainTune request(const std::string& cpus, const std::string& hugepages) {
  TuneRequest r;
  r.name = "g";
  r.actions = "hugepages,isolate";
  r.cpus = cpus;
  r.memory = "1G";
  r.hugepages = hugepages;
  return tune_request(r);
}

std::string message(HostIo& io, const DomainTune& d, const std::string& hugepages) {
  try {
    check_tune_host(io, d, hugepages);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
  return "";
}

TEST(TuneChecks, CpusOnlineAndAPoolOfThePageSize) {
  test::TempTree t;
  t.file("/sys/devices/system/cpu/online", "0-3\n");
  t.mkdir("/sys/kernel/mm/hugepages/hugepages-2048kB");
  auto io = live_io(t.str());
  EXPECT_EQ(message(*io, request("2,3", "2M"), "2M"), "");
  EXPECT_EQ(message(*io, request("3,4", "2M"), "2M"), "--cpus: CPU 4 is not online here (online: 0-3)");
  EXPECT_EQ(message(*io, request("2,3", "1G"), "1G"),
            "--hugepages 1G: this host has no pool of 1048576 kB pages (it has: hugepages-2048kB)");
}

TEST(TuneChecks, WhatCannotBeReadIsNotJudged) {
  test::TempTree t;
  auto io = live_io(t.str());
  EXPECT_EQ(message(*io, request("60,61", "1G"), "1G"), "");
}

}  // namespace
}  // namespace vfioctl::runtime
