// The lscpu -e parser against every CPU file in tests/hosts/src/cpus, and
// synthetic shapes.
#include <gtest/gtest.h>

#include <string>

#include "description.h"
#include "listing.h"
#include "lscpu.h"

namespace vfioctl::hostgen {
namespace {

std::string text(const std::string& file) {
  return read_text_file(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/src/cpus/" + file);
}

CpuTable load(const std::string& file) { return parse_lscpu(text(file), file); }

using V = std::vector<int>;

TEST(hostgen_lscpu, Ryzen3900xSplitSiblingsFourL3) {
  auto t = load("amd-ryzen9-3900X_4ccx_lscpu-e_bryansteiner.txt");
  ASSERT_EQ(t.rows.size(), 24u);
  EXPECT_EQ(t.siblings(0), (V{0, 12}));
  EXPECT_EQ(t.siblings(23), (V{11, 23}));
  auto l3 = t.l3_domains();
  ASSERT_EQ(l3.size(), 4u);
  EXPECT_EQ(l3[1], (V{3, 4, 5, 15, 16, 17}));
  EXPECT_EQ(t.rows[0].max_mhz, 3800.0);
  EXPECT_EQ(t.rows[0].min_mhz, 2200.0);
}

TEST(hostgen_lscpu, FrenchLocaleAdjacentSiblings) {
  auto t = load("amd-ryzen7-5800H_laptop-legion5-17ACH6H_lscpu-e_fanfan42.txt");
  ASSERT_EQ(t.rows.size(), 16u);
  EXPECT_TRUE(t.rows[5].online);  // "oui"
  EXPECT_EQ(t.siblings(2), (V{2, 3}));
  EXPECT_EQ(t.l3_domains().size(), 1u);
  EXPECT_DOUBLE_EQ(*t.rows[0].max_mhz, 3200.0);  // "3200,0000"
  EXPECT_DOUBLE_EQ(*t.rows[0].min_mhz, 1200.0);
}

TEST(hostgen_lscpu, I5SplitSiblingsFrench) {
  auto t = load("intel-i5-9300H_laptop-legion-y540_lscpu-e_fanfan42.txt");
  ASSERT_EQ(t.rows.size(), 8u);
  EXPECT_EQ(t.siblings(1), (V{1, 5}));
  EXPECT_DOUBLE_EQ(*t.rows[7].min_mhz, 800.0);
}

TEST(hostgen_lscpu, Hybrid1255uClusters) {
  auto t = load("intel-i7-1255U-hybrid_laptop-thinkpad-l14g3_lscpu-e_fanfan42.txt");
  ASSERT_EQ(t.rows.size(), 12u);
  EXPECT_EQ(t.siblings(0), (V{0, 1}));
  EXPECT_EQ(t.siblings(4), (V{4}));
  EXPECT_EQ(t.sharing(4, "l2"), (V{4, 5, 6, 7}));
  EXPECT_DOUBLE_EQ(*t.rows[11].max_mhz, 3500.0);
}

TEST(hostgen_lscpu, Hybrid13700kCommandLineFirst) {
  auto t = load("intel-i7-13700K-hybrid_lscpu-e_skyao.txt");
  ASSERT_EQ(t.rows.size(), 24u);
  EXPECT_EQ(t.siblings(14), (V{14, 15}));
  EXPECT_EQ(t.siblings(16), (V{16}));
  EXPECT_EQ(t.sharing(20, "l2"), (V{20, 21, 22, 23}));
  EXPECT_DOUBLE_EQ(*t.rows[9].max_mhz, 5700.0);
  EXPECT_DOUBLE_EQ(*t.rows[16].max_mhz, 4200.0);
}

TEST(hostgen_lscpu, TwoSocketXeon) {
  auto t = load("intel-xeon-e5-2698Bv3-2socket-smt_lscpu-e_skyao.txt");
  ASSERT_EQ(t.rows.size(), 64u);
  EXPECT_EQ(t.sockets(), (V{0, 1}));
  EXPECT_EQ(t.nodes(), (V{0, 1}));
  EXPECT_EQ(t.siblings(16), (V{16, 48}));
  EXPECT_EQ(t.l3_domains().size(), 2u);
  EXPECT_EQ(t.node_cpus(1).size(), 32u);
  EXPECT_EQ(t.socket_cpus(0).front(), 0);
  EXPECT_EQ(t.socket_cpus(0).back(), 47);
}

TEST(hostgen_lscpu, PlainLscpuIsRejectedClearly) {
  try {
    load("intel-xeon-e5-2698Bv3-2socket-smt_lscpu_skyao.txt");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no 'lscpu -e' header"), std::string::npos);
  }
}

TEST(hostgen_lscpu, ColumnsInAnyOrderMissingValuesAndNo) {
  auto t = parse_lscpu("CPU SOCKET CORE ONLINE NODE L1d:L1i:L2\n0 0 0 yes 0 0:0:0\n1 0 1 non - -\n", "x");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_FALSE(t.rows[1].online);
  EXPECT_EQ(t.rows[1].node, 0);
  EXPECT_FALSE(t.rows[1].l2);
  EXPECT_FALSE(t.rows[0].l3);
}

TEST(hostgen_lscpu, BadRowNamesLine) {
  try {
    parse_lscpu("lscpu -e\nCPU NODE SOCKET CORE\n0 0 0 0\n1 0 0\n", "f.txt");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("f.txt:4"), std::string::npos);
  }
}

TEST(hostgen_shape, SplitAndAdjacent) {
  CpuShape s;
  s.cores_per_socket = 24;
  s.cores_per_l3 = 3;
  auto t = build_cpu_table(s, "x");
  ASSERT_EQ(t.rows.size(), 48u);
  EXPECT_EQ(t.siblings(1), (V{1, 25}));
  EXPECT_EQ(t.l3_domains().size(), 8u);
  s.split = false;
  s.cores_per_socket = 6;
  auto a = build_cpu_table(s, "x");
  EXPECT_EQ(a.siblings(2), (V{2, 3}));
  EXPECT_EQ(a.l3_domains().size(), 2u);
  s.cores_per_l3 = 4;
  EXPECT_THROW(build_cpu_table(s, "x"), InputError);
}

TEST(hostgen_shape, TwoSocketsTwoNodes) {
  CpuShape s;
  s.sockets = 2;
  s.cores_per_socket = 4;
  s.numa_nodes = 2;
  auto t = build_cpu_table(s, "x");
  EXPECT_EQ(t.socket_cpus(1), (V{4, 5, 6, 7, 12, 13, 14, 15}));
  EXPECT_EQ(t.node_cpus(0), (V{0, 1, 2, 3, 8, 9, 10, 11}));
}

}  // namespace
}  // namespace vfioctl::hostgen
