// Umbrella header: the whole public API.
#pragma once

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/smooth_dispatch.hpp"
#include "gridbatch/study.hpp"
#include "gridbatch/types.hpp"
