// detail::unit_phasor against the C library's cos and sin.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/unit_phasor.hpp"

namespace gridbatch {
namespace {

// |got - ref| in units in the last place of ref.
double ulps(double got, double ref) {
    if (got == ref) return 0;
    const double a = std::abs(ref);
    return std::abs(got - ref) / (std::nextafter(a, HUGE_VAL) - a);
}

double worst_ulps(double angle) {
    const Complex p = detail::unit_phasor(angle);
    return std::max(ulps(p.real(), std::cos(angle)), ulps(p.imag(), std::sin(angle)));
}

TEST(UnitPhasor, WithinTwoUlpOfTheCLibrary) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> angle(-7, 7), far(-1e5, 1e5), near(-1e-3, 1e-3);
    double worst = 0, worst_far = 0;
    for (int i = 0; i < 1000000; ++i) {
        worst = std::max({worst, worst_ulps(angle(rng)), worst_ulps(near(rng))});
        worst_far = std::max(worst_far, worst_ulps(far(rng)));
    }
    // Either side of every multiple of pi/4 up to 2 pi, where the quadrant or the reduction
    // changes.
    for (int k = -8; k <= 8; ++k) {
        double up = k * M_PI / 4, down = up;
        for (int j = 0; j < 64; ++j) {
            worst = std::max({worst, worst_ulps(up), worst_ulps(down)});
            up = std::nextafter(up, HUGE_VAL);
            down = std::nextafter(down, -HUGE_VAL);
        }
    }
    EXPECT_LE(worst, 1.0);
    EXPECT_LE(worst_far, 2.0);
}

TEST(UnitPhasor, SpecialValues) {
    EXPECT_EQ(detail::unit_phasor(0.0), Complex(1, 0));
    const double tiny = std::numeric_limits<double>::denorm_min();
    EXPECT_EQ(detail::unit_phasor(tiny), Complex(1, tiny));
    for (double a : {M_PI, -M_PI, M_PI / 2, 1e5, -3e7, 1e300}) {
        EXPECT_EQ(detail::unit_phasor(a).real(), std::cos(a)) << a;
        EXPECT_EQ(detail::unit_phasor(a).imag(), std::sin(a)) << a;
    }
    for (double a : {HUGE_VAL, -HUGE_VAL, std::numeric_limits<double>::quiet_NaN()}) {
        EXPECT_TRUE(std::isnan(detail::unit_phasor(a).real())) << a;
        EXPECT_TRUE(std::isnan(detail::unit_phasor(a).imag())) << a;
    }
}

}  // namespace
}  // namespace gridbatch
