// CUDA dispatch engine (host side): scenarios in chunks that fit the device, transposed to
// scenario-fastest on upload and back on download, one kernel launch per chunk.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "device_buffer.hpp"
#include "engine/device.hpp"
#include "engine/dispatch_engine.hpp"
#include "kernels/dispatch_kernels.cuh"
#include "stream.hpp"

namespace gridbatch::detail::cuda {
namespace {

class DispatchEngineCuda final : public DispatchEngine {
public:
    explicit DispatchEngineCuda(int device) : stream_(device) {}
    DispatchEngineCuda(const DispatchEngineCuda&) = delete;
    DispatchEngineCuda& operator=(const DispatchEngineCuda&) = delete;

    void solve(const MatrixView& load, const std::vector<dispatch::FleetParams>& fleets,
               double hours_per_step, int method, DispatchResult& out) override {
        stream_.activate();
        const Index T = load.rows(), S = load.cols();
        const std::size_t per_scenario =
            sizeof(double) * (4 * static_cast<std::size_t>(T) + 1 +
                              static_cast<std::size_t>(dispatch::price_items(T))) +
            sizeof(dispatch::Breakpoint) * static_cast<std::size_t>(dispatch::workspace_items(T)) +
            sizeof(dispatch::FleetParams) + sizeof(dispatch::DpHalves) + sizeof(dispatch::Outcome) +
            sizeof(int);
        const Index chunk = scenarios_per_chunk(S, per_scenario);
        for (Index first = 0; first < S; first += chunk) {
            const Index C = std::min(chunk, S - first);
            const Matrix in = load.middleCols(first, C).transpose();  // C x T: scenario-fastest
            DeviceBuffer<double> d_load(in.data(), static_cast<std::size_t>(in.size()),
                                        stream_.get());
            DeviceBuffer<dispatch::FleetParams> d_fleets(
                fleets.data() + first, static_cast<std::size_t>(C), stream_.get());
            DeviceBuffer<double> d_battery(static_cast<std::size_t>(T * C));
            DeviceBuffer<double> d_grid(static_cast<std::size_t>(T * C));
            DeviceBuffer<double> d_soc(static_cast<std::size_t>((T + 1) * C));
            DeviceBuffer<dispatch::Breakpoint> d_work(
                static_cast<std::size_t>(dispatch::workspace_items(T) * C));
            DeviceBuffer<double> d_prices(static_cast<std::size_t>(dispatch::price_items(T) * C));
            DeviceBuffer<dispatch::DpHalves> d_halves(static_cast<std::size_t>(C));
            DeviceBuffer<dispatch::Outcome> d_outcomes(static_cast<std::size_t>(C));
            DeviceBuffer<int> d_methods(static_cast<std::size_t>(C));
            launch_dispatch(d_load.data(), T, C, hours_per_step, d_fleets.data(), method,
                            d_battery.data(), d_soc.data(), d_grid.data(), d_work.data(),
                            d_prices.data(), d_halves.data(), d_outcomes.data(), d_methods.data(),
                            stream_.get());
            Matrix buf(C, T);
            d_battery.download(buf.data(), static_cast<std::size_t>(buf.size()), stream_.get());
            out.battery_mw.middleCols(first, C) = buf.transpose();
            d_grid.download(buf.data(), static_cast<std::size_t>(buf.size()), stream_.get());
            out.grid_mw.middleCols(first, C) = buf.transpose();
            Matrix soc(C, T + 1);
            d_soc.download(soc.data(), static_cast<std::size_t>(soc.size()), stream_.get());
            out.soc_mwh.middleCols(first, C) = soc.transpose();
            std::vector<dispatch::Outcome> outcomes(static_cast<std::size_t>(C));
            std::vector<int> methods(static_cast<std::size_t>(C));
            d_outcomes.download(outcomes.data(), outcomes.size(), stream_.get());
            d_methods.download(methods.data(), methods.size(), stream_.get());
            for (Index c = 0; c < C; ++c) store_outcome(out, first + c, methods[c], outcomes[c]);
        }
    }

    void training_load(const std::vector<dispatch::LoadParams>& params, std::uint64_t seed,
                       double dt_seconds, Matrix& out) override {
        stream_.activate();
        const Index T = out.rows(), S = out.cols();
        const Index chunk = scenarios_per_chunk(
            S, sizeof(double) * static_cast<std::size_t>(T) + sizeof(params[0]));
        for (Index first = 0; first < S; first += chunk) {
            const Index C = std::min(chunk, S - first);
            DeviceBuffer<dispatch::LoadParams> d_params(params.data() + first,
                                                        static_cast<std::size_t>(C), stream_.get());
            DeviceBuffer<double> d_out(static_cast<std::size_t>(T * C));
            launch_training_load(d_params.data(), seed, first, T, C, dt_seconds, d_out.data(),
                                 stream_.get());
            Matrix buf(C, T);
            d_out.download(buf.data(), static_cast<std::size_t>(buf.size()), stream_.get());
            out.middleCols(first, C) = buf.transpose();
        }
    }

private:
    Stream stream_;
};

}  // namespace

std::unique_ptr<DispatchEngine> make_dispatch_engine(int device) {
    check_device_index(device);
    return std::make_unique<DispatchEngineCuda>(device);
}

}  // namespace gridbatch::detail::cuda
