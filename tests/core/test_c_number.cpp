// Numbers in case files, CSVs and options read the same whatever the process's locale: under a
// decimal-comma locale (a host program's setlocale, e.g. Python's locale.setlocale(LC_ALL, "")
// under de_DE) strtod reads "1.5" as 1, and every case file failed with "is not a number".
#include <gtest/gtest.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gridbatch/builtin_network.hpp"
#include "gridbatch/matpower.hpp"
#include "io/c_number.hpp"

namespace gridbatch {
namespace {

TEST(CLocaleNumbers, CaseFilesReadTheSameUnderADecimalCommaLocale) {
    // A de_DE locale built into a scratch directory (the machine need not have it generated).
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("gridbatch_locale_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string cmd =
        "localedef -i de_DE -f UTF-8 '" + (dir / "de_DE.UTF-8").string() + "' >/dev/null 2>&1";
    [[maybe_unused]] const int rc = std::system(cmd.c_str());  // warnings give 1; check the files
    if (!std::filesystem::exists(dir / "de_DE.UTF-8" / "LC_NUMERIC")) {
        std::filesystem::remove_all(dir);
        GTEST_SKIP() << "localedef could not build de_DE (Debian package 'locales')";
    }
    const std::string text = format_matpower(builtin_network(), "builtin");
    const Network expected = parse_matpower(text, "builtin.m");

    setenv("LOCPATH", dir.c_str(), 1);
    const bool active = std::setlocale(LC_NUMERIC, "de_DE.UTF-8") != nullptr;
    const double plain = std::strtod("1.5", nullptr);  // the locale's reading
    double ours = 0;
    std::string error;
    Network got;
    try {
        ours = detail::strtod_c("1.5", nullptr);
        got = parse_matpower(text, "builtin.m");
    } catch (const std::exception& e) {
        error = e.what();
    }
    std::setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    std::filesystem::remove_all(dir);

    ASSERT_TRUE(active) << "setlocale(LC_NUMERIC, de_DE.UTF-8) failed";
    EXPECT_EQ(plain, 1.0) << "the decimal-comma locale was not in effect";
    EXPECT_EQ(ours, 1.5);
    ASSERT_EQ(error, "");
    EXPECT_EQ(got.base_mva(), expected.base_mva());
    EXPECT_EQ(got.buses().pd, expected.buses().pd);
    EXPECT_EQ(got.branches().x, expected.branches().x);
}

}  // namespace
}  // namespace gridbatch
