// libFuzzer target for the command line's time-series CSV reader (`gridbatch smooth --load
// FILE`: a header row, an optional leading time column, one column per scenario). For any file
// contents, read_series_csv either returns a matrix or throws gridbatch::Error whose message names
// the file; anything else (another exception, a crash, a sanitizer report, a leak) is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/dispatch_cli.hpp"
#include "gridbatch/error.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_series_csv: %s: %s\n", what, detail.c_str());
    std::abort();
}

// The reader takes a path, so each input goes through one scratch file per process.
const std::string& scratch_path() {
    static const std::string path =
        (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
        "/gridbatch_fuzz_series_" + std::to_string(getpid()) + ".csv";
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = scratch_path();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
        fail("cannot write the scratch file", path);
    try {
        gridbatch::cli::read_series_csv(path);
    } catch (const gridbatch::Error& e) {
        if (std::string(e.what()).find(path) == std::string::npos)
            fail("error message does not name the file", e.what());
    }
    std::remove(path.c_str());
    return 0;
}
