// The one-process communicator: its hook sees every chunk, and an Error raised in a chunk reaches
// the caller with its kind (a device failure stays a device failure; it was relabelled bad input).
#include <gtest/gtest.h>

#include <vector>

#include "gridbatch/builtin_network.hpp"
#include "gridbatch/distributed.hpp"

namespace gridbatch {
namespace {

TEST(LocalCommunicator, HookSeesEveryChunkInOrder) {
    const Network net = builtin_network();
    DcPowerFlow pf(net, DcOptions{});
    const Matrix pd = net.buses().pd.replicate(1, 7);
    std::vector<Index> seen;
    const auto comm = local_communicator([&](Index chunk, Index n_chunks) {
        EXPECT_EQ(n_chunks, 4);
        seen.push_back(chunk);
    });
    const DcPowerFlowResult sharded = solve_sharded(pf, pd, *comm, 2);
    EXPECT_EQ(seen, (std::vector<Index>{0, 1, 2, 3}));
    const DcPowerFlowResult whole = pf.solve(pd);
    EXPECT_EQ(sharded.va, whole.va);
}

TEST(LocalCommunicator, AnErrorInAChunkKeepsItsKind) {
    const Network net = builtin_network();
    DcPowerFlow pf(net, DcOptions{});
    const Matrix pd = net.buses().pd.replicate(1, 4);
    for (const ErrorKind kind :
         {ErrorKind::device, ErrorKind::io, ErrorKind::backend_unavailable}) {
        const auto comm = local_communicator([kind](Index chunk, Index) {
            if (chunk == 1) throw Error(kind, "chunk 1 failed");
        });
        try {
            solve_sharded(pf, pd, *comm, 2);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), kind) << to_string(kind);
            EXPECT_STREQ(e.what(), "chunk 1 failed");
        }
    }
}

}  // namespace
}  // namespace gridbatch
