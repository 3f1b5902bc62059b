// JSON forms of host facts (documented in docs/json.md). Fields are only
// ever added, never renamed or removed; unknown values are null. Each
// function writes one JSON value (an object or an array) at the writer's
// current position.
#pragma once

#include "vfioctl/host/host.h"
#include "vfioctl/util/json_writer.h"

namespace vfioctl {

void write_json(JsonWriter& w, const PciDevice& dev);
void write_json(JsonWriter& w, const CpuTopology& topo);  // writes the fields, not braces
void write_json(JsonWriter& w, const Memory& mem);
void write_json(JsonWriter& w, const Kernel& kernel);
void write_json(JsonWriter& w, const Platform& platform);
void write_json(JsonWriter& w, const Notes& notes);

}  // namespace vfioctl
