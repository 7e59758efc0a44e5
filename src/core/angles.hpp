// Angles: MATPOWER's tables and every result hold degrees, the solvers work in radians. One pi
// for the host code and the kernels.
#pragma once

namespace gridbatch::detail {

inline constexpr double kPi = 3.14159265358979323846;
inline constexpr double kDegToRad = kPi / 180.0;
inline constexpr double kRadToDeg = 180.0 / kPi;

}  // namespace gridbatch::detail
