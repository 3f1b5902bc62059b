// The JSON form of a guest plan (guest/plan_json.h) and the memory request a
// spec makes of the host (guest_plan.h's memory_request), on fixture hosts.
#include "vfioctl/guest/plan_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "vfioctl/guest/spec.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

const std::string kSource = VFIOCTL_SOURCE_DIR;

GuestPlan example_on(const std::string& host_name, const std::string& example) {
  Root root(kSource + "/tests/hosts/" + host_name);
  Host host = read_host(root);
  Notes notes;
  return plan_guest(host, load_guest_spec(kSource + "/examples/" + example + ".toml"), read_input_devices(root, notes));
}

TEST(PlanJson, EveryPartOfThePlanWithTheXml) {
  GuestPlan plan = example_on("amd-ryzen9-3900x", "windows-gaming");
  std::ostringstream out;
  write_plan_json(out, plan, "<domain/>\n");
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["name"], plan.name);
  EXPECT_EQ(j["cpu"]["vcpus"].get<std::vector<int>>(), plan.cpu.vcpus);
  EXPECT_EQ(j["cpu"]["cores"], plan.cpu.cores);
  EXPECT_EQ(j["memory"]["kib"], plan.memory.kib);
  EXPECT_EQ(j["memory"]["page_kib"], plan.memory.page_kib);
  EXPECT_EQ(j["memory"]["pages"], plan.memory.pages);
  ASSERT_EQ(j["devices"].size(), plan.passed.size());
  for (size_t i = 0; i < plan.passed.size(); ++i) EXPECT_EQ(j["devices"][i]["host"], plan.passed[i].host.str());
  EXPECT_EQ(j["disks"].size(), plan.disks.size());
  EXPECT_EQ(j["images"].size(), plan.images.size());
  EXPECT_EQ(j["iothreads"], plan.iothreads);
  EXPECT_EQ(j["next_steps"].get<std::vector<std::string>>(), plan.next_steps);
  EXPECT_EQ(j["xml"], "<domain/>\n");
  for (const char* key : {"usb", "network", "audio", "hide", "mmio64", "tune", "warnings"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST(MemoryRequest, WhatTheSpecAsksAndWhatTheBootReserves) {
  Root root(kSource + "/tests/hosts/intel-desktop-z370");
  Host host = read_host(root);
  GuestSpec spec = load_guest_spec(kSource + "/examples/linux-desktop.toml");
  MemoryRequest req = memory_request(host, spec);
  EXPECT_EQ(req.mib, spec.memory_mib);
  EXPECT_EQ(req.page_kib, spec.hugepage_kib);
  EXPECT_EQ(req.hugepages_off, spec.hugepages_off);
  EXPECT_EQ(req.boot_pages, boot_hugepages(host.kernel, host.memory.default_page_kib()));
  EXPECT_FALSE(req.node) << "plan_guest adds the vCPUs' node";
  EXPECT_FALSE(req.passthrough);
  // The guest plan's pages are what the request plans to (one NUMA node here).
  GuestPlan plan = example_on("intel-desktop-z370", "linux-desktop");
  req.passthrough = !plan.passed.empty();
  MemoryPlan mp = plan_memory(host.memory, host.platform, req);
  EXPECT_EQ(mp.pages, plan.memory.pages);
  EXPECT_EQ(mp.page_kib, plan.memory.page_kib);
}

}  // namespace
}  // namespace vfioctl
