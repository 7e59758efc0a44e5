// unit_phasor(a) = e^{j a} = (cos a, sin a): the voltage phasor's direction, formed for every bus
// in every iteration of every power flow. glibc's sincos saves and restores the rounding mode on
// each call (two thirds of its ~11 ns here; 18 % of a case118 time-series power flow); this one
// is branch-free arithmetic for the angles power flows meet, within 2 ulp of glibc's (tested).
#pragma once

#include <cmath>
#include <cstdint>

#include "gridbatch/types.hpp"

namespace gridbatch::detail {

inline Complex unit_phasor(Real a) {
    // Beyond |a| ~ 1e5 (never a power-flow angle) and for inf/NaN: the library's own.
    if (!(std::abs(a) < 1e5)) return {std::cos(a), std::sin(a)};
    // a = k pi/2 + r, |r| <= pi/4: three-part Cody-Waite (fdlibm's pio2_1, pio2_2, pio2_2t; the
    // first two have 33 bits, so k times them is exact for |k| < 2^20).
    constexpr Real kTwoOverPi = 6.36619772367581382433e-01;
    constexpr Real kPio2_1 = 1.57079632673412561417e+00;
    constexpr Real kPio2_2 = 6.07710050630396597660e-11;
    constexpr Real kPio2_2t = 2.02226624879595063154e-21;
    constexpr Real kRound = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
    const Real k = (a * kTwoOverPi + kRound) - kRound;
    const Real r = ((a - k * kPio2_1) - k * kPio2_2) - k * kPio2_2t;
    // fdlibm's __kernel_sin and __kernel_cos (FreeBSD k_sin.c, k_cos.c) on |r| <= pi/4.
    const Real z = r * r, w = z * z;
    const Real sin_r =
        r +
        r * z *
            (-1.66666666666666324348e-01 +
             z * (8.33333333332248946124e-03 +
                  z * (-1.98412698298579493134e-04 +
                       z * (2.75573137070700676789e-06 +
                            z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))));
    const Real poly = z * (4.16666666666666019037e-02 +
                           z * (-1.38888888888741095749e-03 + z * 2.48015872894767294178e-05)) +
                      w * w *
                          (-2.75573143513906633035e-07 +
                           z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11));
    const Real hz = 0.5 * z, one_minus_hz = 1.0 - hz;
    const Real cos_r = one_minus_hz + (((1.0 - one_minus_hz) - hz) + z * poly);
    // Quadrant k mod 4: (cos, sin) = (c, s), (-s, c), (-c, -s), (s, -c).
    const auto q = static_cast<std::int64_t>(k) & 3;
    const Real c = (q & 1) ? sin_r : cos_r;
    const Real s = (q & 1) ? cos_r : sin_r;
    return {(q == 1 || q == 2) ? -c : c, (q & 2) ? -s : s};
}

}  // namespace gridbatch::detail
