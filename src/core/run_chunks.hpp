// A batch's chunks handed out over a Communicator: the loop every sharded solve runs.
#pragma once

#include <algorithm>
#include <optional>

#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail {

// Runs `solve_chunk(first, count)` on this rank's chunks of [0, n); returns the ranges it did. An
// Error in a chunk stops this rank and is reported to every rank by comm.check().
template <typename SolveChunk>
ColumnRanges run_chunks(Communicator& comm, Index n, Index chunk, SolveChunk&& solve_chunk) {
    if (chunk < 1) throw Error(ErrorKind::invalid_input, "solve_sharded: chunk must be >= 1");
    comm.begin_chunks((n + chunk - 1) / chunk);
    ColumnRanges mine;
    std::optional<Error> error;
    try {
        for (Index c; (c = comm.next_chunk()) >= 0;) {
            const Index first = c * chunk, count = std::min(chunk, n - first);
            solve_chunk(first, count);
            mine.emplace_back(first, count);
        }
    } catch (const Error& e) {
        error = e;
    }
    comm.check(error ? &*error : nullptr);
    return mine;
}

}  // namespace gridbatch::detail
