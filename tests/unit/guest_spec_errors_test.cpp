// The guest spec's errors: every bad value names file:line, what is wrong
// and what to write instead.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vfioctl/guest/spec.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

// The message of the error parsing `text` throws ("" when it parses).
std::string error_of(const std::string& text, const std::string& file = "win11.toml") {
  try {
    parse_guest_spec(text, file);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    return e.what();
  }
  return "";
}

struct ErrorCase {
  const char* what;
  std::string text;
  std::string message;
};

void expect_errors(const std::vector<ErrorCase>& cases) {
  for (const auto& c : cases) EXPECT_EQ(error_of(c.text), c.message) << c.what;
}

TEST(GuestSpecErrors, TheBriefsExamples) {
  expect_errors({
      {"typo in a key", "preset = \"windows-gaming\"\n\nmemroy = \"16G\"\n",
       "win11.toml:3: unknown key 'memroy'; did you mean 'memory'?"},
      {"typo in a preset", "preset = \"windows-gamer\"\nmemory = \"16G\"\n",
       "win11.toml:1: preset 'windows-gamer' is not one of windows-gaming, windows-workstation, linux-desktop, "
       "linux-server, legacy-windows; did you mean 'windows-gaming'?"},
  });
}

TEST(GuestSpecErrors, Syntax) {
  expect_errors({
      {"no value", "memory = \"4G\"\ncpus = \n",
       "win11.toml:2: invalid TOML: Error while parsing key-value pair: expected value, saw '\\n'"},
      {"same key twice", "memory = \"4G\"\ncores = 2\ncores = 4\n",
       "win11.toml:3: invalid TOML: Error while parsing key-value pair: cannot redefine existing integer 'cores'"},
      {"same table twice", "memory = \"4G\"\n[network]\nmode = \"nat\"\n[network]\n",
       "win11.toml:4: invalid TOML: Error while parsing table header: cannot redefine existing table 'network'"},
      {"unclosed string", "memory = \"4G\n",
       "win11.toml:1: invalid TOML: Error while parsing string: unescaped control characters other than TAB "
       "(U+0009) are explicitly prohibited"},
  });
}

TEST(GuestSpecErrors, UnknownKeysAndTables) {
  expect_errors({
      {"far from every key", "memory = \"4G\"\ncolour = \"red\"\n",
       "win11.toml:2: unknown key 'colour' (keys: preset, os, name, memory, hugepages, cpus, cores, threads, "
       "passthrough, romfile, secure_boot, tpm, nested; tables: [[disk]], [network], [input], [looking_glass], "
       "[install], [[usb]], [audio], [smbios], [tune], [hide])"},
      {"near a key", "memory = \"4G\"\ncpu = \"4c8t\"\n", "win11.toml:2: unknown key 'cpu'; did you mean 'cpus'?"},
      {"beginning of a key", "memory = \"4G\"\nthre = 2\n",
       "win11.toml:2: unknown key 'thre'; did you mean 'threads'?"},
      {"nearest that is near enough", "memory = \"4G\"\ncor = 2\n",
       "win11.toml:2: unknown key 'cor'; did you mean 'cores'?"},
      {"case", "Memory = \"4G\"\n", "win11.toml:1: unknown key 'Memory'; did you mean 'memory'?"},
      {"first in file order", "zzz = 1\nmemory = \"4G\"\naaa = 2\n",
       "win11.toml:1: unknown key 'zzz' (keys: preset, os, name, memory, hugepages, cpus, cores, threads, "
       "passthrough, romfile, secure_boot, tpm, nested; tables: [[disk]], [network], [input], [looking_glass], "
       "[install], [[usb]], [audio], [smbios], [tune], [hide])"},
      {"table typo", "memory = \"4G\"\n\n[netwrok]\nmode = \"nat\"\n",
       "win11.toml:3: unknown table [netwrok]; did you mean [network]?"},
      {"array of tables typo", "memory = \"4G\"\n[[disks]]\nsource = \"/dev/sda\"\n",
       "win11.toml:2: unknown table [[disks]]; did you mean [[disk]]?"},
      {"unknown table", "memory = \"4G\"\n[sound]\n",
       "win11.toml:2: unknown table [sound] (tables: [[disk]], [network], [input], [looking_glass], [install], "
       "[[usb]], [audio], [smbios], [tune], [hide])"},
      {"key in network", "memory = \"4G\"\n[network]\nmoed = \"nat\"\n",
       "win11.toml:3: unknown key 'moed' in [network]; did you mean 'mode'?"},
      {"key far from network's", "memory = \"4G\"\n[network]\nvlan = 4\n",
       "win11.toml:3: unknown key 'vlan' in [network] (keys: mode, bridge, network, mac, dev, pf)"},
      {"key in disk", "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sda\"\nformt = \"raw\"\n",
       "win11.toml:4: unknown key 'formt' in [[disk]]; did you mean 'format'?"},
      {"key in input", "memory = \"4G\"\n[input]\ngrab-toggle = \"alt-alt\"\n",
       "win11.toml:3: unknown key 'grab-toggle' in [input]; did you mean 'grab_toggle'?"},
      {"key in looking_glass", "memory = \"4G\"\n[looking_glass]\nresoltion = \"1920x1080\"\n",
       "win11.toml:3: unknown key 'resoltion' in [looking_glass]; did you mean 'resolution'?"},
      {"sub-table", "memory = \"4G\"\n[network.extra]\n",
       "win11.toml:2: unknown key 'extra' in [network] (keys: mode, bridge, network, mac, dev, pf)"},
  });
}

TEST(GuestSpecErrors, PresetAndOs) {
  expect_errors({
      {"preset far off", "preset = \"gaming\"\nmemory = \"4G\"\n",
       "win11.toml:1: preset 'gaming' is not one of windows-gaming, windows-workstation, linux-desktop, "
       "linux-server, legacy-windows"},
      {"preset type", "preset = 1\nmemory = \"4G\"\n",
       "win11.toml:1: preset must be a string like \"windows-gaming\", not an integer"},
      {"os not windows", "preset = \"windows-gaming\"\nos = \"wim11\"\nmemory = \"4G\"\n",
       "win11.toml:2: os 'wim11' is not a Windows version for preset 'windows-gaming': one of win11, win10, "
       "win8.1, win8, win7, win2k25, win2k22, win2k19, win2k16, win2k12r2, win2k12, win2k8r2; did you mean "
       "'win11'?"},
      {"windows os on linux", "os = \"win10\"\nmemory = \"4G\"\n",
       "win11.toml:1: os 'win10' is Windows but preset 'linux-desktop' is for Linux: use preset = "
       "\"windows-gaming\" or \"windows-workstation\""},
      {"os form", "os = \"Debian 12\"\nmemory = \"4G\"\n",
       "win11.toml:1: os 'Debian 12' is not an os id: use lower-case letters, digits, '.' and '-', like "
       "\"win11\" or \"debian12\""},
      {"os empty", "os = \"\"\nmemory = \"4G\"\n",
       "win11.toml:1: os '' is not an os id: use lower-case letters, digits, '.' and '-', like \"win11\" or "
       "\"debian12\""},
  });
}

TEST(GuestSpecErrors, Name) {
  expect_errors({
      {"space", "memory = \"4G\"\nname = \"my vm\"\n",
       "win11.toml:2: name 'my vm' holds ' ': use letters, digits, '_', '.', '+' and '-'"},
      {"slash", "memory = \"4G\"\nname = \"a/b\"\n",
       "win11.toml:2: name 'a/b' holds '/': use letters, digits, '_', '.', '+' and '-'"},
      {"too long", "memory = \"4G\"\nname = \"" + std::string(65, 'a') + "\"\n",
       "win11.toml:2: name is 65 characters long; at most 64"},
      {"empty", "memory = \"4G\"\nname = \"\"\n", "win11.toml:2: name is empty; leave it out for a generated name"},
      {"type", "memory = \"4G\"\nname = 7\n",
       "win11.toml:2: name must be a string like \"win11-gaming\", not an integer"},
  });
}

TEST(GuestSpecErrors, Memory) {
  expect_errors({
      {"missing", "preset = \"linux-server\"\n", "win11.toml: memory is required, like memory = \"16G\""},
      {"empty file", "", "win11.toml: memory is required, like memory = \"16G\""},
      {"bare number", "memory = 16\n", "win11.toml:1: memory must be a string with a unit: write memory = \"16G\""},
      {"bare MiB", "memory = 16384\n", "win11.toml:1: memory must be a string with a unit: write memory = \"16384M\""},
      {"bare fraction", "memory = 1.5\n", "win11.toml:1: memory must be a string with a unit: write memory = \"1.5G\""},
      {"boolean", "memory = true\n", "win11.toml:1: memory must be a string like \"16G\", not a boolean"},
      {"table", "[memory]\nsize = \"4G\"\n", "win11.toml:1: memory must be a string like \"16G\", not a table"},
      {"decimal unit", "memory = \"16GB\"\n",
       "win11.toml:1: memory '16GB': sizes are binary; write \"16G\" or \"16GiB\""},
      {"no number", "memory = \"lots\"\n",
       "win11.toml:1: memory 'lots' is not a size: write it like \"16G\" (units M, G, T; MiB without a unit)"},
      {"fraction of a MiB", "memory = \"1.3G\"\n", "win11.toml:1: memory '1.3G' is not a whole number of MiB"},
      {"too large", "memory = \"99999999999999999G\"\n",
       "win11.toml:1: memory '99999999999999999G' is too large (vfioctl reads sizes up to 1T x 1024, 1 PiB)"},
      {"too small", "memory = \"255M\"\n", "win11.toml:1: memory '255M' is less than the minimum, 256M"},
  });
}

TEST(GuestSpecErrors, Hugepages) {
  expect_errors({
      {"value", "memory = \"4G\"\nhugepages = \"1GB\"\n",
       "win11.toml:2: hugepages '1GB' is not one of auto, 2M, 1G, off; did you mean '1G'?"},
      {"type", "memory = \"4G\"\nhugepages = 2\n",
       "win11.toml:2: hugepages must be a string like \"auto\", not an integer"},
      {"1G pages need whole GiB", "memory = \"1.5G\"\nhugepages = \"1G\"\n",
       "win11.toml:2: hugepages '1G' needs memory in whole 1G pages; memory is 1536M (use 1G or 2G)"},
      {"2M pages need even MiB", "memory = \"1025M\"\nhugepages = \"2M\"\n",
       "win11.toml:2: hugepages '2M' needs memory in whole 2M pages; memory is 1025M (use 1G or 1026M)"},
  });
}

TEST(GuestSpecErrors, Cpus) {
  expect_errors({
      {"both", "memory = \"4G\"\ncpus = \"4c8t\"\ncores = 4\n",
       "win11.toml:3: cpus and cores are both set (lines 2 and 3); keep one: cpus = \"6c12t\", or cores = 6 with "
       "threads = 2"},
      {"threads with cpus", "memory = \"4G\"\ncpus = \"4c8t\"\nthreads = 2\n",
       "win11.toml:3: threads goes with cores, not with cpus: cpus = \"NcMt\" already says M threads on N cores"},
      {"threads 3 per core", "memory = \"4G\"\ncpus = \"4c12t\"\n",
       "win11.toml:2: cpus '4c12t': threads must be 1 or 2 per core, so M is N or 2N: \"4c4t\" or \"4c8t\""},
      {"threads not a multiple", "memory = \"4G\"\ncpus = \"6c8t\"\n",
       "win11.toml:2: cpus '6c8t': threads must be 1 or 2 per core, so M is N or 2N: \"6c6t\" or \"6c12t\""},
      {"fewer threads than cores", "memory = \"4G\"\ncpus = \"6c3t\"\n",
       "win11.toml:2: cpus '6c3t': threads must be 1 or 2 per core, so M is N or 2N: \"6c6t\" or \"6c12t\""},
      {"no cores", "memory = \"4G\"\ncpus = \"0c0t\"\n", "win11.toml:2: cpus '0c0t': cores must be 1 to 1024"},
      {"form", "memory = \"4G\"\ncpus = \"6x12\"\n",
       "win11.toml:2: cpus '6x12' is not \"NcMt\" (N cores, M threads, like \"6c12t\") or \"auto\""},
      {"cores only", "memory = \"4G\"\ncpus = \"6c\"\n",
       "win11.toml:2: cpus '6c' is not \"NcMt\" (N cores, M threads, like \"6c12t\") or \"auto\""},
      {"auto typo", "memory = \"4G\"\ncpus = \"atuo\"\n",
       "win11.toml:2: cpus 'atuo' is not \"NcMt\" (N cores, M threads, like \"6c12t\") or \"auto\"; did you mean "
       "'auto'?"},
      {"even number", "memory = \"4G\"\ncpus = 12\n",
       "win11.toml:2: cpus must be a string: write cpus = \"6c12t\" (6 cores with 2 threads each), cpus = "
       "\"12c12t\", or cpus = \"auto\""},
      {"odd number", "memory = \"4G\"\ncpus = 3\n",
       "win11.toml:2: cpus must be a string: write cpus = \"3c3t\" or cpus = \"auto\""},
      {"other type", "memory = \"4G\"\ncpus = [4, 8]\n",
       "win11.toml:2: cpus must be a string like \"6c12t\", not an array"},
      {"cores zero", "memory = \"4G\"\ncores = 0\n", "win11.toml:2: cores must be 1 to 1024, not 0"},
      {"cores huge", "memory = \"4G\"\ncores = 5000000000\n", "win11.toml:2: cores must be 1 to 1024, not 5000000000"},
      {"cores quoted", "memory = \"4G\"\ncores = \"6\"\n",
       "win11.toml:2: cores must be a number without quotes: write cores = 6"},
      {"cores fraction", "memory = \"4G\"\ncores = 2.5\n",
       "win11.toml:2: cores must be a whole number like 6, not a number with a fraction"},
      {"threads 4", "memory = \"4G\"\ncores = 4\nthreads = 4\n",
       "win11.toml:3: threads must be 1 or 2 (threads per core), not 4"},
      {"threads 0", "memory = \"4G\"\ncores = 4\nthreads = 0\n",
       "win11.toml:3: threads must be 1 or 2 (threads per core), not 0"},
  });
}

TEST(GuestSpecErrors, PassthroughAndRomfile) {
  expect_errors({
      {"typo", "memory = \"4G\"\npassthrough = [\"gpuu\"]\n",
       "win11.toml:2: passthrough 'gpuu' is not a selector; did you mean 'gpu'?"},
      {"element line", "memory = \"4G\"\npassthrough = [\n  \"gpu\",\n  \"graphics\",\n]\n",
       "win11.toml:4: passthrough 'graphics' is not a selector: a selector is an address (01:00.0, "
       "0000:01:00.0), a slot (01:00: all its functions), a vendor:device id (10de:1b81), or a kind (gpu, "
       "audio, usb, nvme, sata, net)"},
      {"string", "memory = \"4G\"\npassthrough = \"gpu\"\n",
       "win11.toml:2: passthrough must be an array: write passthrough = [\"gpu\"]"},
      {"table", "memory = \"4G\"\n[passthrough]\n",
       "win11.toml:2: passthrough must be an array of selectors like [\"gpu\"], not a table"},
      {"element type", "memory = \"4G\"\npassthrough = [1]\n",
       "win11.toml:2: passthrough entries must be strings like \"gpu\" or \"01:00.0\", not an integer"},
      {"duplicate", "memory = \"4G\"\npassthrough = [\n  \"01:00.0\",\n  \"0000:01:00.0\",\n]\n",
       "win11.toml:4: passthrough lists '0000:01:00.0' twice (also line 3)"},
      {"duplicate ids", "memory = \"4G\"\npassthrough = [\"10de:1b81\", \"10DE:1B81\"]\n",
       "win11.toml:2: passthrough lists '10DE:1B81' twice (also line 2)"},
      {"romfile relative", "memory = \"4G\"\npassthrough = [\"gpu\"]\nromfile = \"vbios.rom\"\n",
       "win11.toml:3: romfile 'vbios.rom' must be an absolute path, like \"/var/lib/libvirt/vbios/gpu.rom\""},
      {"romfile empty", "memory = \"4G\"\npassthrough = [\"gpu\"]\nromfile = \"\"\n",
       "win11.toml:3: romfile is empty; write a path like \"/var/lib/libvirt/vbios/gpu.rom\""},
      {"romfile without a GPU", "memory = \"4G\"\nromfile = \"/rom/gpu.rom\"\n",
       "win11.toml:2: romfile is for a passed GPU, but passthrough is empty; add passthrough = [\"gpu\"]"},
  });
}

TEST(GuestSpecErrors, Booleans) {
  expect_errors({
      {"quoted true", "memory = \"4G\"\nsecure_boot = \"yes\"\n",
       "win11.toml:2: secure_boot must be true or false without quotes: write secure_boot = true"},
      {"quoted false", "memory = \"4G\"\ntpm = \"false\"\n",
       "win11.toml:2: tpm must be true or false without quotes: write tpm = false"},
      {"number", "memory = \"4G\"\ntpm = 1\n", "win11.toml:2: tpm must be true or false, not an integer"},
  });
}

TEST(GuestSpecErrors, Disks) {
  expect_errors({
      {"no source", "memory = \"4G\"\n\n[[disk]]\nbus = \"sata\"\n",
       "win11.toml:3: [[disk]] has no source; add source = \"/dev/disk/by-id/...\" or an image path"},
      {"single table", "memory = \"4G\"\n[disk]\nsource = \"/dev/sda\"\n",
       "win11.toml:2: disk must be an array of tables: write [[disk]] with source = \"...\" (one [[disk]] per "
       "disk)"},
      {"string", "memory = \"4G\"\ndisk = \"/dev/sda\"\n",
       "win11.toml:2: disk must be an array of tables: write [[disk]] with source = \"...\" (one [[disk]] per "
       "disk)"},
      {"relative source", "memory = \"4G\"\n[[disk]]\nsource = \"win.qcow2\"\n",
       "win11.toml:3: disk.source 'win.qcow2' must be an absolute path, like \"/dev/disk/by-id/nvme-...\""},
      {"source type", "memory = \"4G\"\n[[disk]]\nsource = 5\n",
       "win11.toml:3: disk.source must be a string like \"/dev/disk/by-id/nvme-...\", not an integer"},
      {"duplicate source", "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sda\"\n[[disk]]\nsource = \"/dev/sda\"\n",
       "win11.toml:5: disk.source '/dev/sda' is already used by the disk on line 2"},
      {"bus", "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sda\"\nbus = \"virtio-blck\"\n",
       "win11.toml:4: disk.bus 'virtio-blck' is not one of virtio-scsi, virtio-blk, sata, nvme; did you mean "
       "'virtio-blk'?"},
      {"bus far off", "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sda\"\nbus = \"ide\"\n",
       "win11.toml:4: disk.bus 'ide' is not one of virtio-scsi, virtio-blk, sata, nvme"},
      {"format", "memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\nformat = \"qcow\"\n",
       "win11.toml:4: disk.format 'qcow' is not one of raw, qcow2; did you mean 'qcow2'?"},
      {"kind", "memory = \"4G\"\n[[disk]]\nsource = \"/iso/a.iso\"\nkind = \"cd-rom\"\n",
       "win11.toml:4: disk.kind 'cd-rom' is not one of disk, cdrom; did you mean 'cdrom'?"},
      {"cdrom on virtio",
       "memory = \"4G\"\n[[disk]]\nsource = \"/iso/a.iso\"\nkind = \"cdrom\"\nbus = \"virtio-scsi\"\n",
       "win11.toml:5: disk.bus 'virtio-scsi' cannot hold install media (kind = \"cdrom\"); use bus = \"sata\" or "
       "leave bus out"},
      {"cdrom size", "memory = \"4G\"\n[[disk]]\nsource = \"/iso/a.iso\"\nkind = \"cdrom\"\nsize = \"5G\"\n",
       "win11.toml:5: disk.size is for a new image; install media (kind = \"cdrom\") have their size"},
      {"cdrom qcow2", "memory = \"4G\"\n[[disk]]\nsource = \"/iso/a.iso\"\nkind = \"cdrom\"\nformat = \"qcow2\"\n",
       "win11.toml:5: disk.format must be \"raw\" for install media (kind = \"cdrom\"): ISO images are raw"},
      {"device size", "memory = \"4G\"\n[[disk]]\nsource = \"/dev/sdb\"\nsize = \"100G\"\n",
       "win11.toml:4: disk.size is for a new image, but source '/dev/sdb' is a device"},
      {"size bare", "memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\nsize = 100\n",
       "win11.toml:4: disk.size must be a string with a unit: write disk.size = \"100G\""},
      {"size zero", "memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\nsize = \"0G\"\n",
       "win11.toml:4: disk.size '0G' must be more than 0"},
      {"size malformed", "memory = \"4G\"\n[[disk]]\nsource = \"/img/a.img\"\nsize = \"big\"\n",
       "win11.toml:4: disk.size 'big' is not a size: write it like \"100G\" (units M, G, T; MiB without a unit)"},
  });
}

TEST(GuestSpecErrors, Network) {
  expect_errors({
      {"mode", "memory = \"4G\"\n[network]\nmode = \"brige\"\n",
       "win11.toml:3: network.mode 'brige' is not one of nat, bridge, macvtap, sriov, none; did you mean 'bridge'?"},
      {"not a table", "memory = \"4G\"\nnetwork = \"nat\"\n",
       "win11.toml:2: network must be a table, not a string: write [network] with mode = \"nat\""},
      {"bridge mode without bridge", "memory = \"4G\"\n[network]\nmode = \"bridge\"\n",
       "win11.toml:3: network mode \"bridge\" needs the host bridge: add bridge = \"br0\""},
      {"bridge with nat", "memory = \"4G\"\n[network]\nmode = \"nat\"\nbridge = \"br0\"\n",
       "win11.toml:4: network.bridge is for mode \"bridge\", but mode is \"nat\""},
      {"bridge with none", "memory = \"4G\"\n[network]\nmode = \"none\"\nbridge = \"br0\"\n",
       "win11.toml:4: network.bridge is for mode \"bridge\", but mode is \"none\""},
      {"bridge name", "memory = \"4G\"\n[network]\nbridge = \"br 0\"\n",
       "win11.toml:3: network.bridge 'br 0' is not an interface name: 1 to 15 letters, digits, '_', '.' or '-', "
       "like \"br0\""},
      {"bridge name too long", "memory = \"4G\"\n[network]\nbridge = \"bridge-0123456789\"\n",
       "win11.toml:3: network.bridge 'bridge-0123456789' is not an interface name: 1 to 15 letters, digits, '_', "
       "'.' or '-', like \"br0\""},
      {"network with bridge", "memory = \"4G\"\n[network]\nbridge = \"br0\"\nnetwork = \"default\"\n",
       "win11.toml:4: network.network is the libvirt network for mode \"nat\", but mode is \"bridge\""},
      {"network name", "memory = \"4G\"\n[network]\nnetwork = \"my/net\"\n",
       "win11.toml:3: network.network 'my/net' is not a libvirt network name: letters, digits, '_', '.' or '-', "
       "like \"default\""},
      {"mac form", "memory = \"4G\"\n[network]\nmac = \"52:54:00:12:34\"\n",
       "win11.toml:3: network.mac '52:54:00:12:34' is not a MAC address like \"52:54:00:12:34:56\""},
      {"mac digits", "memory = \"4G\"\n[network]\nmac = \"52:54:00:12:34:5g\"\n",
       "win11.toml:3: network.mac '52:54:00:12:34:5g' is not a MAC address like \"52:54:00:12:34:56\""},
      {"mac dashes", "memory = \"4G\"\n[network]\nmac = \"52-54-00-12-34-56\"\n",
       "win11.toml:3: network.mac '52-54-00-12-34-56' is not a MAC address like \"52:54:00:12:34:56\""},
      {"mac multicast", "memory = \"4G\"\n[network]\nmac = \"01:00:5e:00:00:01\"\n",
       "win11.toml:3: network.mac '01:00:5e:00:00:01' is a multicast address (the first byte is odd); libvirt's "
       "guests use 52:54:00:xx:xx:xx"},
      {"mac zero", "memory = \"4G\"\n[network]\nmac = \"00:00:00:00:00:00\"\n",
       "win11.toml:3: network.mac '00:00:00:00:00:00' is not a usable address"},
      {"mac without network", "memory = \"4G\"\n[network]\nmode = \"none\"\nmac = \"52:54:00:12:34:56\"\n",
       "win11.toml:4: network.mac needs a network, but mode is \"none\""},
  });
}

TEST(GuestSpecErrors, InstallUsbAudioSmbiosNested) {
  expect_errors({
      {"install without iso", "memory = \"4G\"\n[install]\ndrivers = \"auto\"\n",
       "win11.toml:2: [install] needs iso, the installer image: iso = \"/srv/iso/Win11_24H2_English_x64.iso\""},
      {"install iso relative", "memory = \"4G\"\n[install]\niso = \"win.iso\"\n",
       "win11.toml:3: install.iso 'win.iso' must be an absolute path, like \"/srv/iso/Win11_24H2_English_x64.iso\""},
      {"install drivers word", "memory = \"4G\"\n[install]\niso = \"/a.iso\"\ndrivers = \"atuo\"\n",
       "win11.toml:4: install.drivers 'atuo' is not \"auto\", \"none\" or an absolute path to the virtio-win ISO; "
       "did you mean 'auto'?"},
      {"install iso also a disk",
       "memory = \"4G\"\n[[disk]]\nsource = \"/a.iso\"\nkind = \"cdrom\"\n[install]\niso = \"/a.iso\"\n",
       "win11.toml:5: [install] names /a.iso, which the [[disk]] on line 2 uses too"},
      {"usb single table", "memory = \"4G\"\n[usb]\nid = \"046d:c52b\"\n",
       "win11.toml:2: usb must be an array of tables: write [[usb]] with id = \"046d:c52b\" (one [[usb]] per device)"},
      {"usb without id", "memory = \"4G\"\n[[usb]]\nport = \"1-4\"\n",
       "win11.toml:2: [[usb]] has no id; add id = \"vendor:product\" as 'vfioctl list usb' shows it"},
      {"usb id malformed", "memory = \"4G\"\n[[usb]]\nid = \"046d-c52b\"\n",
       "win11.toml:3: usb.id '046d-c52b' is not vendor:product in hex, like \"046d:c52b\" ('vfioctl list usb')"},
      {"usb port malformed", "memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\nport = \"usb1\"\n",
       "win11.toml:4: usb.port 'usb1' is not a USB port path like \"1-4\" or \"3-1.2\" (the PORT column of 'vfioctl "
       "list usb')"},
      {"usb twice", "memory = \"4G\"\n[[usb]]\nid = \"046d:c52b\"\n[[usb]]\nid = \"046D:C52B\"\n",
       "win11.toml:5: [[usb]] 046d:c52b is listed twice (also line 3); two devices with one id need port = ... each"},
      {"audio backend unknown", "memory = \"4G\"\n[audio]\nbackend = \"alsa\"\n",
       "win11.toml:3: audio.backend 'alsa' is not one of pipewire, pulseaudio, scream, none"},
      {"audio backend typo", "memory = \"4G\"\n[audio]\nbackend = \"pipwire\"\n",
       "win11.toml:3: audio.backend 'pipwire' is not one of pipewire, pulseaudio, scream, none; did you mean "
       "'pipewire'?"},
      {"audio without backend", "memory = \"4G\"\n[audio]\n",
       "win11.toml:2: [audio] needs backend: \"pipewire\", \"pulseaudio\", \"scream\" or \"none\""},
      {"smbios keep_serials alone", "memory = \"4G\"\n[smbios]\nkeep_serials = true\n",
       "win11.toml:3: smbios.keep_serials is about the host's serial numbers; it needs from_host = true"},
      {"nested quoted", "memory = \"4G\"\nnested = \"yes\"\n",
       "win11.toml:2: nested must be true or false without quotes: write nested = true"},
      {"macvtap without dev", "memory = \"4G\"\n[network]\nmode = \"macvtap\"\n",
       "win11.toml:3: network mode \"macvtap\" needs the host's wired interface: add dev = \"enp5s0\""},
      {"sriov without pf", "memory = \"4G\"\n[network]\nmode = \"sriov\"\n",
       "win11.toml:3: network mode \"sriov\" needs the physical function's interface: add pf = \"enp5s0f0\""},
      {"dev with bridge", "memory = \"4G\"\n[network]\nbridge = \"br0\"\ndev = \"enp5s0\"\n",
       "win11.toml:4: network.dev is the host interface for mode \"macvtap\", but mode is \"bridge\""},
      {"legacy win11", "preset = \"legacy-windows\"\nos = \"win11\"\nmemory = \"4G\"\n",
       "win11.toml:2: os 'win11' needs UEFI, Secure Boot and a TPM, which preset 'legacy-windows' (SeaBIOS) does "
       "not have; use preset = \"windows-gaming\" or \"windows-workstation\""},
      {"legacy secure boot", "preset = \"legacy-windows\"\nmemory = \"4G\"\nsecure_boot = true\n",
       "win11.toml:3: secure_boot needs UEFI; preset 'legacy-windows' boots with SeaBIOS (a BIOS)"},
  });
}

TEST(GuestSpecDayOne, DefaultsAndInference) {
  GuestSpec s = parse_guest_spec(
      "preset = \"legacy-windows\"\nmemory = \"4G\"\n[network]\ndev = \"enp5s0\"\n"
      "[[usb]]\nid = \"046D:C52B\"\nport = \"3-1.2\"\n[install]\niso = \"/i.iso\"\n"
      "drivers = \"none\"\n",
      "t.toml");
  EXPECT_EQ(s.os, "win7");
  EXPECT_FALSE(s.secure_boot);
  EXPECT_EQ(s.network.mode, NetworkSpec::Mode::macvtap);
  EXPECT_EQ(s.network.dev, "enp5s0");
  EXPECT_EQ(s.network.source_pos.line, 4);
  ASSERT_EQ(s.usb.size(), 1u);
  EXPECT_EQ(s.usb[0].id(), "046d:c52b");
  EXPECT_EQ(s.usb[0].port, std::optional<std::string>("3-1.2"));
  ASSERT_TRUE(s.install);
  EXPECT_EQ(s.install->drivers, InstallSpec::Drivers::none);
  EXPECT_EQ(s.audio.backend, AudioBackend::none);
}

TEST(GuestSpecErrors, Input) {
  expect_errors({
      {"evdev value", "memory = \"4G\"\n[input]\nevdev = \"atuo\"\n",
       "win11.toml:3: input.evdev 'atuo' is not one of auto, none; did you mean 'auto'?"},
      {"evdev type", "memory = \"4G\"\n[input]\nevdev = true\n",
       "win11.toml:3: input.evdev must be \"auto\", \"none\" or an array of /dev/input/by-id paths, not a boolean"},
      {"evdev empty", "memory = \"4G\"\n[input]\nevdev = []\n",
       "win11.toml:3: input.evdev is an empty list; write evdev = \"none\" for no devices"},
      {"evdev path", "memory = \"4G\"\n[input]\nevdev = [\n  \"/dev/input/by-id/kbd\",\n  \"/dev/sda\",\n]\n",
       "win11.toml:5: input.evdev '/dev/sda' is not under /dev/input/; use /dev/input/by-id/...-event-kbd or "
       "-event-mouse"},
      {"evdev entry type", "memory = \"4G\"\n[input]\nevdev = [3]\n",
       "win11.toml:3: input.evdev entries must be paths like \"/dev/input/by-id/usb-...-event-kbd\", not an "
       "integer"},
      {"evdev duplicate", "memory = \"4G\"\n[input]\nevdev = [\"/dev/input/by-id/k\", \"/dev/input/by-id/k\"]\n",
       "win11.toml:3: input.evdev lists '/dev/input/by-id/k' twice (also line 3)"},
      {"grab toggle", "memory = \"4G\"\n[input]\nevdev = \"auto\"\ngrab_toggle = \"ctrl-alt\"\n",
       "win11.toml:4: input.grab_toggle 'ctrl-alt' is not one of ctrl-ctrl, alt-alt, shift-shift, meta-meta, "
       "scrolllock, ctrl-scrolllock"},
      {"grab toggle beginning", "memory = \"4G\"\n[input]\nevdev = \"auto\"\ngrab_toggle = \"ctrl\"\n",
       "win11.toml:4: input.grab_toggle 'ctrl' is not one of ctrl-ctrl, alt-alt, shift-shift, meta-meta, "
       "scrolllock, ctrl-scrolllock; did you mean 'ctrl-ctrl'?"},
      {"grab toggle typo", "memory = \"4G\"\n[input]\nevdev = \"auto\"\ngrab_toggle = \"scrollock\"\n",
       "win11.toml:4: input.grab_toggle 'scrollock' is not one of ctrl-ctrl, alt-alt, shift-shift, meta-meta, "
       "scrolllock, ctrl-scrolllock; did you mean 'scrolllock'?"},
      {"grab toggle without evdev", "memory = \"4G\"\n[input]\ngrab_toggle = \"alt-alt\"\n",
       "win11.toml:3: input.grab_toggle needs evdev devices: add evdev = \"auto\" or a list of paths"},
      {"not a table", "memory = \"4G\"\ninput = \"auto\"\n",
       "win11.toml:2: input must be a table, not a string: write [input] with evdev = \"auto\""},
  });
}

TEST(GuestSpecErrors, LookingGlass) {
  const std::string gpu = "memory = \"4G\"\npassthrough = [\"gpu\"]\n";
  expect_errors({
      {"form", gpu + "[looking_glass]\nresolution = \"2560*1440\"\n",
       "win11.toml:4: looking_glass.resolution '2560*1440' is not WIDTHxHEIGHT, like \"2560x1440\""},
      {"three parts", gpu + "[looking_glass]\nresolution = \"1x2x3\"\n",
       "win11.toml:4: looking_glass.resolution '1x2x3' is not WIDTHxHEIGHT, like \"2560x1440\""},
      {"too small", gpu + "[looking_glass]\nresolution = \"319x240\"\n",
       "win11.toml:4: looking_glass.resolution '319x240': width and height must be 320 to 16384"},
      {"too large", gpu + "[looking_glass]\nresolution = \"1920x16385\"\n",
       "win11.toml:4: looking_glass.resolution '1920x16385': width and height must be 320 to 16384"},
      {"missing", gpu + "[looking_glass]\n",
       "win11.toml:3: [looking_glass] needs resolution, like resolution = \"2560x1440\""},
      {"type", gpu + "[looking_glass]\nresolution = 1080\n",
       "win11.toml:4: looking_glass.resolution must be a string like \"2560x1440\", not an integer"},
      {"no GPU", "memory = \"4G\"\n[looking_glass]\nresolution = \"1920x1080\"\n",
       "win11.toml:2: looking_glass shows a passed GPU's screen, but passthrough is empty; add passthrough = "
       "[\"gpu\"]"},
  });
}

TEST(GuestSpecErrors, FileNameInEveryMessage) {
  EXPECT_EQ(error_of("memory = \"4G\"\ncpu = 1\n", "specs/gaming.toml"),
            "specs/gaming.toml:2: unknown key 'cpu'; did you mean 'cpus'?");
}

TEST(GuestSpecErrors, Hide) {
  const std::string w = "preset = \"windows-gaming\"\nmemory = \"4G\"\n[hide]\n";
  expect_errors({
      {"hypervisor quoted", w + "hypervisor = \"yes\"\n",
       "win11.toml:4: hide.hypervisor 'yes': true and false go without quotes: write hypervisor = true"},
      {"hypervisor word", w + "hypervisor = \"stealth\"\n",
       "win11.toml:4: hide.hypervisor 'stealth' is not \"auto\", true or false"},
      {"hypervisor typo", w + "hypervisor = \"atuo\"\n",
       "win11.toml:4: hide.hypervisor 'atuo' is not \"auto\", true or false; did you mean 'auto'?"},
      {"hypervisor number", w + "hypervisor = 1\n",
       "win11.toml:4: hide.hypervisor must be \"auto\", true or false, not an integer"},
      {"unknown key", w + "cpuid = false\n", "win11.toml:4: unknown key 'cpuid' in [hide]; did you mean 'cpuid_bit'?"},
      {"cpuid_bit quoted", w + "cpuid_bit = \"off\"\n",
       "win11.toml:4: hide.cpuid_bit must be true or false without quotes: write hide.cpuid_bit = false"},
      {"bit off, hypervisor shown", w + "hypervisor = false\ncpuid_bit = false\n",
       "win11.toml:5: hide.cpuid_bit = false hides the hypervisor, but hypervisor = false keeps it shown; drop one"},
      {"vendor_id too long", w + "vendor_id = \"ThirteenChars\"\n",
       "win11.toml:4: hide.vendor_id 'ThirteenChars' must be 1 to 12 ASCII letters and digits (a 12-byte CPUID "
       "field)"},
      {"vendor_id empty", w + "vendor_id = \"\"\n",
       "win11.toml:4: hide.vendor_id '' must be 1 to 12 ASCII letters and digits (a 12-byte CPUID field)"},
      {"vendor_id comma", w + "vendor_id = \"a,b\"\n",
       "win11.toml:4: hide.vendor_id 'a,b' must be 1 to 12 ASCII letters and digits (a 12-byte CPUID field)"},
      {"vendor_id on Linux", "memory = \"4G\"\n[hide]\nhypervisor = true\nvendor_id = \"abc\"\n",
       "win11.toml:4: hide.vendor_id is the Hyper-V vendor id, which only Windows guests have; preset "
       "'linux-desktop' has no Hyper-V enlightenments"},
      {"vendor_id, hypervisor shown", w + "hypervisor = false\nvendor_id = \"abc\"\n",
       "win11.toml:5: hide.vendor_id is written only when the hypervisor is hidden; hypervisor = false"},
      {"vendor_id without the bit", w + "cpuid_bit = false\nvendor_id = \"abc\"\n",
       "win11.toml:5: hide.vendor_id goes with the Hyper-V enlightenments, which cpuid_bit = false leaves out "
       "(Windows ignores them without the bit); drop vendor_id"},
      {"hide not a table", "memory = \"4G\"\nhide = true\n",
       "win11.toml:2: hide must be a table, not a boolean: write [hide] with hypervisor = true"},
  });
}

}  // namespace
}  // namespace vfioctl
