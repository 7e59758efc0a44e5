#include "io/c_number.hpp"

#include <locale.h>  // newlocale (POSIX 2008)

#include <cstdlib>  // strtod_l (glibc; POSIX-like systems)

namespace gridbatch::detail {

double strtod_c(const char* text, char** end) {
    // Made once, never freed: a locale object is a few hundred bytes and lives for the process.
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
    return strtod_l(text, end, c_locale);
}

}  // namespace gridbatch::detail
