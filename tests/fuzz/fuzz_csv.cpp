// libFuzzer target for the command line's CSV reader (`--load-scale FILE`, column `scale`). For
// any file contents, read_csv_column either returns finite values or throws gridbatch::Error
// whose message names the file; anything else (another exception, a crash, a sanitizer report,
// a leak) is a bug.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/csv.hpp"
#include "gridbatch/error.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_csv: %s: %s\n", what, detail.c_str());
    std::abort();
}

// The reader takes a path, so each input goes through one scratch file per process.
const std::string& scratch_path() {
    static const std::string path =
        (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
        "/gridbatch_fuzz_csv_" + std::to_string(getpid()) + ".csv";
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = scratch_path();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0)
        fail("cannot write the scratch file", path);
    try {
        const gridbatch::Vector v = gridbatch::cli::read_csv_column(path, "scale");
        if (v.size() == 0) fail("no values and no error", path);
        for (gridbatch::Index i = 0; i < v.size(); ++i)
            if (!std::isfinite(v[i])) fail("a value that is not finite", std::to_string(v[i]));
    } catch (const gridbatch::Error& e) {
        if (std::string(e.what()).find(path) == std::string::npos)
            fail("error message does not name the file", e.what());
    }
    std::remove(path.c_str());
    return 0;
}
