// Scenario sharding over processes (MPI). A Communicator hands out chunks of a batch's scenarios
// dynamically — per-scenario cost differs (non-converging scenarios, MPC), so a static split
// would leave ranks idle — and gathers the columns each rank solved to rank 0. Every rank solves
// whole scenarios with the same code as a single process, so results are bitwise identical to a
// one-process run.
//
// The library builds and works without MPI: local_communicator() is a one-process communicator,
// and mpi_communicator() throws Error{backend_unavailable} when gridbatch was built without MPI
// (GRIDBATCH_MPI=OFF or no MPI found).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/smooth_dispatch.hpp"
#include "gridbatch/study.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

using ColumnRanges = std::vector<std::pair<Index, Index>>;  // [first, first + count)

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const noexcept = 0;
    virtual int size() const noexcept = 0;
    // The rank among the processes of this machine: picks the GPU (local_rank % device count).
    virtual int local_rank() const noexcept = 0;

    // Collective: starts handing out `n_chunks` chunks.
    virtual void begin_chunks(Index n_chunks) = 0;
    // This rank's next chunk, or -1 when every chunk has been handed out. Not collective.
    virtual Index next_chunk() = 0;
    // Collective: rank 0's `m` receives the columns other ranks list in `mine` (their `m` must
    // have the same number of rows; only their listed columns are read).
    virtual void gather_columns(Matrix& m, const ColumnRanges& mine) = 0;
    // Collective: rank 0 gets every rank's `values` concatenated in rank order (variable-length
    // results such as N-1 violation lists); other ranks get an empty vector.
    virtual std::vector<Real> gather_concat(const std::vector<Real>& values) = 0;
    // Collective: the largest `value` over all ranks.
    virtual Index max_over_ranks(Index value) = 0;
    // Collective: if any rank passes an error, every rank throws an Error of its kind naming the
    // lowest failing rank and its message, so one rank's bad input ends the job, not hangs it
    // (a one-process communicator throws the error itself). nullptr: this rank is fine.
    virtual void check(const Error* local_error) = 0;
};

// A one-process communicator; `before_chunk`, if given, runs before each chunk is handed out
// (the command line prints progress there, the Python bindings run Ctrl-C's handler).
std::unique_ptr<Communicator> local_communicator(ChunkHook before_chunk = {});
// MPI_COMM_WORLD (MPI is initialised on first use and finalised at exit).
std::unique_ptr<Communicator> mpi_communicator();
// An existing MPI communicator, given as its handle converted to an integer (an MPI_Comm cast
// to std::intptr_t, or mpi4py's MPI._handleof(comm)); it must outlive the Communicator.
std::unique_ptr<Communicator> mpi_communicator(std::intptr_t comm_handle);
bool mpi_built() noexcept;
// True when this process was started by mpirun/mpiexec (Open MPI, MPICH or Slurm's PMI).
bool launched_by_mpi() noexcept;
// This process's rank as the launcher's environment gives it (without initialising MPI); 0 when
// not launched by MPI.
int launcher_rank() noexcept;

// The CUDA device this rank should use: local_rank() modulo the number of devices of this
// machine (0 without devices). Set it as the `device` of the options of every solver a rank
// builds, so the ranks of one machine spread over its GPUs.
int device_for(const Communicator& comm) noexcept;

// Sharded solves: every rank calls them with the same network, options and batch. Rank 0 gets
// the whole result; other ranks get a result whose columns outside their own chunks are
// unspecified. `chunk` scenarios are handed out at a time (for an AC time series,
// StartMode::previous_step, rounded up to a multiple of kTimeSeriesBlock so that the results are
// those of one process).
DcPowerFlowResult solve_sharded(DcPowerFlow& pf, const MatrixView& pd, Communicator& comm,
                                Index chunk = 256);
AcPowerFlowResult solve_sharded(const AcPowerFlow& pf, const AcBatch& batch, Communicator& comm,
                                Index chunk = 64);

// N-1 screening sharded by blocks of outages (options.outages_per_block each): the LODF columns
// are the expensive part and do not depend on the scenarios, so every rank solves the base cases
// and screens its blocks against all of them. Rank 0 gets the whole result (the one-process
// result exactly); other ranks get their base cases and an empty screening.
N1Result n1_screen(DcPowerFlow& pf, const MatrixView& pd, const N1Options& options,
                   Communicator& comm);

// AC contingency analysis sharded by chunks of options.chunk (scenario, outage) power flows;
// every rank solves the base cases. Rank 0 gets the whole result (the one-process result
// exactly); other ranks get their base cases only.
AcContingencyResult ac_contingencies(const AcPowerFlow& pf, const AcBatch& base,
                                     const AcContingencyOptions& options, Communicator& comm);

// Battery dispatch sharded by scenarios (`chunk` at a time); rank 0 gets the whole result.
DispatchResult dispatch(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                        const std::vector<GridConnection>& grids, const DispatchOptions& options,
                        Communicator& comm, Index chunk = 8);
SmoothDispatchResult smooth_dispatch(const MatrixView& load,
                                     const std::vector<BatteryFleet>& fleets,
                                     const std::vector<GridConnection>& grids,
                                     const SmoothDispatchOptions& options, Communicator& comm,
                                     Index chunk = 2);

// The study with its AC power flows (nearly all of its work) sharded over the ranks; every rank
// computes the cheap stages (profiles, dispatch) itself. Rank 0 gets the whole result and runs
// the N-1 and sizing stages; other ranks return after the AC stage with a partial result and
// should not write it. `progress` is called on rank 0 only.
StudyResult run_study(const Network& net, const StudyOptions& options, Communicator& comm,
                      const StudyProgress& progress = {});

}  // namespace gridbatch
