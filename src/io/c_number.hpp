// Reading a decimal number from text the same way in every process: C's strtod follows the
// locale's LC_NUMERIC, and a host program that sets a locale with a decimal comma (Python after
// locale.setlocale(locale.LC_ALL, "") under de_DE) would make every "1.5" in a case file or CSV
// "not a number".
#pragma once

namespace gridbatch::detail {

// std::strtod in the "C" locale, whatever the process's: same arguments, errno and results.
double strtod_c(const char* text, char** end);

}  // namespace gridbatch::detail
