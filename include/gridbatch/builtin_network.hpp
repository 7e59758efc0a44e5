// The built-in study network: a synthetic 500 kV / 161 kV transmission region authored by this
// project (not derived from any case file), with a data-centre point of interconnection (POI).
// docs/builtin_network.md gives its parameters and their basis.
#pragma once

#include "gridbatch/network.hpp"

namespace gridbatch {

Network builtin_network();
// External bus numbers of the default POI substations.
constexpr Index kBuiltinPoi161 = 900;  // 161 kV campus substation (default POI)
constexpr Index kBuiltinPoi500 = 950;  // 500 kV campus substation (for GW-scale campuses)

}  // namespace gridbatch
