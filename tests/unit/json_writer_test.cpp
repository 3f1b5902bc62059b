#include "vfioctl/util/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace vfioctl {
namespace {

TEST(JsonWriter, NestsIndentsAndSeparates) {
  std::ostringstream out;
  {
    JsonWriter w(out);
    w.begin_object();
    w.field("id", 3);
    w.field("name", "gpu");
    w.field("none", nullptr);
    w.field("ok", true);
    w.key("empty");
    w.begin_array();
    w.end_array();
    w.field("list", std::vector<int>{1, 2});
    w.end_object();
    w.finish();
  }
  EXPECT_EQ(out.str(),
            "{\n  \"id\": 3,\n  \"name\": \"gpu\",\n  \"none\": null,\n  \"ok\": true,\n  \"empty\": [],\n"
            "  \"list\": [\n    1,\n    2\n  ]\n}\n");
}

TEST(JsonWriter, OutputParsesBackToTheSameValues) {
  std::ostringstream out;
  JsonWriter w(out);
  w.begin_object();
  w.field("optional_set", std::optional<int>(7));
  w.field("optional_unset", std::optional<int>());
  w.field("params", std::map<std::string, std::string>{{"ids", "10de:1b81"}, {"disable_vga", "1"}});
  w.field("negative", -1);
  w.field("big", 18446744073709551615ull);
  w.end_object();
  w.finish();
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["optional_set"], 7);
  EXPECT_TRUE(j["optional_unset"].is_null());
  EXPECT_EQ(j["params"]["ids"], "10de:1b81");
  EXPECT_EQ(j["negative"], -1);
  EXPECT_EQ(j["big"].get<unsigned long long>(), 18446744073709551615ull);
}

TEST(JsonWriter, EscapesControlCharactersAndQuotes) {
  EXPECT_EQ(json_quote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_quote("Caf\xC3\xA9"), "\"Caf\xC3\xA9\"");
  // A lone continuation byte, a truncated sequence and an overlong '/' are
  // each replaced by U+FFFD; the result still parses.
  std::string q = json_quote("x\x80y\xE2\x82z\xC0\xAF");
  EXPECT_EQ(q, "\"x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_TRUE(nlohmann::json::accept(q));
}

}  // namespace
}  // namespace vfioctl
