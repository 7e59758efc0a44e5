// An MPI communicator (MPI_COMM_WORLD, or one given by its handle) as a Communicator. Chunks are
// handed out by a shared counter on rank 0, read and incremented with MPI_Fetch_and_op
// (passive-target one-sided), so no rank has to act as a dispatcher and no rank waits for another
// to ask for work.
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <type_traits>

#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

void check_mpi(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw Error(ErrorKind::device, std::string(call) + " failed: " + std::string(text, len));
}

void ensure_initialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        int initialised = 0;
        MPI_Initialized(&initialised);
        if (!initialised) {
            // SERIALIZED, not FUNNELED: a sharded call may come from any thread (a Python
            // thread other than the one that imported the module, the GIL released), one at a
            // time; the solvers' worker threads never call MPI.
            int provided = 0;
            check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided),
                      "MPI_Init_thread");
            std::atexit([] {
                int finalised = 0;
                MPI_Finalized(&finalised);
                if (!finalised) MPI_Finalize();
            });
        }
    });
}

// MPI_Comm is a pointer in Open MPI and an int in MPICH; a template so that only the branch for
// this MPI is instantiated.
template <typename Comm>
Comm from_handle(std::intptr_t handle) {
    if constexpr (std::is_pointer_v<Comm>)
        return reinterpret_cast<Comm>(handle);
    else
        return static_cast<Comm>(handle);
}

class MpiCommunicator final : public Communicator {
public:
    explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
        ensure_initialised();
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
        MPI_Comm local;
        MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
        MPI_Comm_rank(local, &local_rank_);
        MPI_Comm_free(&local);
        check_mpi(MPI_Win_allocate(rank_ == 0 ? sizeof(long long) : 0, sizeof(long long),
                                   MPI_INFO_NULL, comm_, &counter_base_, &counter_),
                  "MPI_Win_allocate");
    }
    ~MpiCommunicator() override {
        // mpi4py may finalise MPI before Python drops its last reference to this object.
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (!finalised) MPI_Win_free(&counter_);
    }

    int rank() const noexcept override { return rank_; }
    int size() const noexcept override { return size_; }
    int local_rank() const noexcept override { return local_rank_; }

    void begin_chunks(Index n_chunks) override {
        n_chunks_ = n_chunks;
        // Everyone must be done with the previous round before the counter is reset, and the
        // reset must be visible before anyone draws from it: two barriers.
        MPI_Barrier(comm_);
        if (rank_ == 0) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, counter_);
            *counter_base_ = 0;
            MPI_Win_unlock(0, counter_);
        }
        MPI_Barrier(comm_);
    }

    Index next_chunk() override {
        const long long one = 1;
        long long got = 0;
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, counter_);
        check_mpi(MPI_Fetch_and_op(&one, &got, MPI_LONG_LONG, 0, 0, MPI_SUM, counter_),
                  "MPI_Fetch_and_op");
        MPI_Win_unlock(0, counter_);
        return got < n_chunks_ ? static_cast<Index>(got) : -1;
    }

    void gather_columns(Matrix& m, const ColumnRanges& mine) override {
        // Each rank packs its ranges (first, count) and their columns; rank 0 unpacks.
        std::vector<long long> ranges;
        std::vector<double> data;
        for (const auto& [first, count] : mine) {
            ranges.push_back(first);
            ranges.push_back(count);
            const auto* begin = m.data() + first * m.rows();
            data.insert(data.end(), begin, begin + count * m.rows());
        }
        const std::vector<long long> all_ranges = gatherv(ranges, MPI_LONG_LONG);
        const std::vector<double> all_data = gatherv(data, MPI_DOUBLE);
        if (rank_ != 0) return;
        std::size_t offset = 0;
        for (std::size_t i = 0; i + 1 < all_ranges.size(); i += 2) {
            const Index first = all_ranges[i], count = all_ranges[i + 1];
            const std::size_t n = static_cast<std::size_t>(count * m.rows());
            std::copy(all_data.begin() + static_cast<std::ptrdiff_t>(offset),
                      all_data.begin() + static_cast<std::ptrdiff_t>(offset + n),
                      m.data() + first * m.rows());
            offset += n;
        }
    }

    std::vector<Real> gather_concat(const std::vector<Real>& values) override {
        return gatherv(values, MPI_DOUBLE);
    }

    Index max_over_ranks(Index value) override {
        long long v = value, out = 0;
        MPI_Allreduce(&v, &out, 1, MPI_LONG_LONG, MPI_MAX, comm_);
        return static_cast<Index>(out);
    }

    void check(const Error* local_error) override {
        // The lowest failing rank (size_ if none), its error's kind and message go to everyone.
        int mine = local_error ? rank_ : size_, failing = size_;
        MPI_Allreduce(&mine, &failing, 1, MPI_INT, MPI_MIN, comm_);
        if (failing == size_) return;
        const std::string local_text = rank_ == failing ? local_error->what() : "";
        int head[2] = {rank_ == failing ? static_cast<int>(local_error->kind()) : 0,
                       static_cast<int>(local_text.size())};
        MPI_Bcast(head, 2, MPI_INT, failing, comm_);
        std::string text = rank_ == failing ? local_text : std::string(std::size_t(head[1]), ' ');
        MPI_Bcast(text.data(), head[1], MPI_CHAR, failing, comm_);
        throw Error(static_cast<ErrorKind>(head[0]),
                    "rank " + std::to_string(failing) + ": " + text);
    }

private:
    // Rank 0 gets every rank's values in rank order. MPI counts are int, and rank 0 may receive
    // more than 2^31 values (the pf of a large batch, a long violation list): the counts travel as
    // 64-bit numbers and the values in messages of at most kSlice.
    template <typename T>
    std::vector<T> gatherv(const std::vector<T>& local, MPI_Datatype type) {
        constexpr long long kSlice = 1 << 26;
        constexpr int kTag = 7;
        const auto n = static_cast<long long>(local.size());
        std::vector<long long> counts(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
        check_mpi(MPI_Gather(&n, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, 0, comm_),
                  "MPI_Gather");
        if (rank_ != 0) {
            for (long long done = 0; done < n; done += kSlice)
                check_mpi(
                    MPI_Send(local.data() + done, static_cast<int>(std::min(kSlice, n - done)),
                             type, 0, kTag, comm_),
                    "MPI_Send");
            return {};
        }
        long long total = 0;
        for (long long c : counts) total += c;
        std::vector<T> all(static_cast<std::size_t>(total));
        std::copy(local.begin(), local.end(), all.begin());
        long long offset = n;
        for (int r = 1; r < size_; ++r) {
            const long long count = counts[static_cast<std::size_t>(r)];
            for (long long done = 0; done < count; done += kSlice)
                check_mpi(MPI_Recv(all.data() + offset + done,
                                   static_cast<int>(std::min(kSlice, count - done)), type, r, kTag,
                                   comm_, MPI_STATUS_IGNORE),
                          "MPI_Recv");
            offset += count;
        }
        return all;
    }

    MPI_Comm comm_;
    int rank_ = 0, size_ = 1, local_rank_ = 0;
    long long* counter_base_ = nullptr;
    MPI_Win counter_ = MPI_WIN_NULL;
    Index n_chunks_ = 0;
};

}  // namespace

bool mpi_built() noexcept { return true; }

std::unique_ptr<Communicator> mpi_communicator() {
    return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
}

std::unique_ptr<Communicator> mpi_communicator(std::intptr_t comm_handle) {
    const MPI_Comm comm = from_handle<MPI_Comm>(comm_handle);
    if (comm == MPI_COMM_NULL)
        throw Error(ErrorKind::invalid_input,
                    "mpi_communicator: the communicator is MPI_COMM_NULL");
    return std::make_unique<MpiCommunicator>(comm);
}

}  // namespace gridbatch
