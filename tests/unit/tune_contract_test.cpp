#include "vfioctl/util/tune_contract.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

namespace vfioctl {
namespace {

TEST(TuneContract, ActionsInTheHooksOrder) {
  EXPECT_EQ(tune_action_names(), (std::vector<std::string>{"hugepages", "isolate", "governor", "irq"}));
  EXPECT_TRUE(is_tune_action("irq"));
  EXPECT_FALSE(is_tune_action("IRQ"));
  EXPECT_EQ(tune_actions_in_order({"irq", "hugepages", "irq"}), (std::vector<std::string>{"hugepages", "irq"}));
  EXPECT_EQ(tune_actions_in_order({}), std::vector<std::string>{});
  std::string unknown;
  EXPECT_FALSE(tune_actions_in_order({"isolate", "pin", "cpu"}, &unknown));
  EXPECT_EQ(unknown, "pin");
}

TEST(TuneContract, TheNamespaceDecidesNotThePrefix) {
  pugi::xml_document doc;
  ASSERT_TRUE(
      doc.load_string("<metadata xmlns:t='urn:vfioctl:tune:1' xmlns:o='urn:other'>"
                      "<t:tune/><o:tune/><tune/><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1'/><t:other/>"
                      "<tune xmlns='urn:vfioctl:tune:1'/></metadata>"));
  std::vector<bool> is;
  for (pugi::xml_node n : doc.child("metadata").children()) is.push_back(is_tune_element(n));
  EXPECT_EQ(is, (std::vector<bool>{true, false, false, true, false, true}));
  EXPECT_STREQ(kTuneNamespace, "urn:vfioctl:tune:1");
}

}  // namespace
}  // namespace vfioctl
