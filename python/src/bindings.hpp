// Shared pieces of the gridbatch._core bindings: the per-area registration functions and the
// numpy <-> Eigen conversions every binding uses.
//
// Layout. C++ keeps one scenario per column (n x S, column-major); Python shows scenario-major
// (S, n) arrays. These are the same bytes: a C-contiguous (S, n) float64 array is the
// column-major n x S matrix, so inputs in that layout are read in place and outputs are views of
// the result's own buffers, never copies.
#pragma once

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/invalid_input.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::python {

namespace py = pybind11;

void bind_module(py::module_& m);
void bind_errors(py::module_& m);
void bind_network(py::module_& m);
void bind_power_flow(py::module_& m);
void bind_sensitivities(py::module_& m);
void bind_ac_power_flow(py::module_& m);
void bind_dispatch(py::module_& m);
void bind_study(py::module_& m);
void bind_smooth_dispatch(py::module_& m);
void bind_distributed(py::module_& m);

// The `comm` argument of the batched calls. None: this process, in chunks, with Python's signal
// handlers run between chunks so that Ctrl-C interrupts a long solve (KeyboardInterrupt within
// one chunk; a chunked solve gives the same bits as one call). A gridbatch.Communicator or an
// mpi4py communicator: sharded over its ranks. Built with the GIL held.
class CommArg {
public:
    explicit CommArg(const py::object& comm);
    Communicator& operator*() const { return *comm_; }

private:
    std::unique_ptr<Communicator> owned_;
    Communicator* comm_ = nullptr;
};

// A ChunkHook that runs Python's signal handlers (Ctrl-C raises KeyboardInterrupt through it).
// Call the computation it is given to without the GIL.
ChunkHook check_signals_hook();

// The hardware threads of this machine (at least 1).
Index core_count();
// Scenarios per chunk of a chunked call over cheap scenarios (milliseconds each): 4 per core, so
// every chunk keeps all cores busy, and at most ~32 chunks for large batches.
Index scenario_chunk(Index n_scenarios);

// Per-scenario results of `solve(first, count)` over column chunks of S scenarios, concatenated,
// with Python's signal handlers run between chunks; for computations whose scenarios are
// independent (chunks give the same bits as one call). Runs without the GIL.
template <typename Solve>
IndexVector solve_in_chunks(Index S, Index chunk, Solve&& solve) {
    IndexVector out(S);
    const ChunkHook check = check_signals_hook();
    py::gil_scoped_release nogil;
    const Index n_chunks = (S + chunk - 1) / chunk;
    for (Index c = 0; c < n_chunks; ++c) {
        check(c, n_chunks);
        const Index first = c * chunk, count = std::min(chunk, S - first);
        out.segment(first, count) = solve(first, count);
    }
    return out;
}

// Accepts a Backend or one of the strings "cpu", "cuda", "auto".
Backend to_backend(const py::handle& value);

// A random seed: an integer (Python's or numpy's) in [0, 2^64); anything else is refused naming
// the argument (pybind11 said "incompatible function arguments" for -1 or 2**64).
std::uint64_t seed_arg(const py::handle& value, const char* name);

// Clears numpy's WRITEABLE flag of `a`.
inline void make_read_only(const py::array& a) {
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
}

// A read-only numpy view of `count` elements at `data`, owned by `base` (which keeps the memory
// alive). Read-only: a result's arrays are views of the result, and writing one (r.grid_mw) would
// change what everything computed from the result later sees (dispatch_metrics(r), r.converged
// from r.status); np.array(view) is a copy to change.
template <class T>
py::array vector_view(const T* data, Index count, const py::handle& base) {
    py::array out(py::dtype::of<T>(), {static_cast<py::ssize_t>(count)},
                  {static_cast<py::ssize_t>(sizeof(T))}, data, base);
    make_read_only(out);
    return out;
}

// The getter of a read-only property that views vector `member` of the bound object without a
// copy (the object keeps the memory alive): def_property_readonly(name, vector_of(&R::m), doc).
template <class Result, class V>
auto vector_of(V Result::*member) {
    return [member](const py::object& self) {
        const V& v = self.cast<const Result&>().*member;
        return vector_view(v.data(), v.size(), self);
    };
}

// The (S, n) view of a column-major n x S matrix, owned by `base`; read-only unless asked, as
// vector_view's.
template <class Derived>
py::array scenario_view(const Eigen::PlainObjectBase<Derived>& matrix, const py::handle& base,
                        bool writeable = false) {
    using T = typename Derived::Scalar;
    const auto rows = static_cast<py::ssize_t>(matrix.rows());
    const auto cols = static_cast<py::ssize_t>(matrix.cols());
    py::array out(py::dtype::of<T>(), {cols, rows},
                  {rows * static_cast<py::ssize_t>(sizeof(T)), static_cast<py::ssize_t>(sizeof(T))},
                  matrix.data(), base);
    if (!writeable) make_read_only(out);
    return out;
}

// A new numpy array with the values of v (lists of indices).
template <class T>
py::array_t<T> copy_of(const std::vector<T>& v) {
    return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

// A getter as vector_of's for a column-major n x S matrix member, viewed as (S, n).
template <class Result>
auto matrix_of(Matrix Result::*member) {
    return [member](const py::object& self) {
        return scenario_view(self.cast<const Result&>().*member, self);
    };
}

// A getter as vector_of's for a std::vector of records with a registered numpy dtype
// (PYBIND11_NUMPY_DTYPE), viewed as a read-only 1-D structured array.
template <class Result, class T>
auto records_of(std::vector<T> Result::*member) {
    return [member](const py::object& self) {
        const std::vector<T>& v = self.cast<const Result&>().*member;
        py::array_t<T> out({static_cast<py::ssize_t>(v.size())},
                           {static_cast<py::ssize_t>(sizeof(T))}, v.data(), self);
        make_read_only(out);
        return out;
    };
}

// A column-major matrix that is not scenario-major (LODF factors: rows are branches) as a
// Fortran-ordered (rows, cols) view owned by `base`.
inline py::array matrix_view(const Matrix& matrix, const py::handle& base) {
    const auto rows = static_cast<py::ssize_t>(matrix.rows());
    const auto size = static_cast<py::ssize_t>(sizeof(Real));
    return py::array(py::dtype::of<Real>(), {rows, static_cast<py::ssize_t>(matrix.cols())},
                     {size, rows * size}, matrix.data(), base);
}

// A column-major matrix that is not scenario-major (PTDF, LODF: rows are branches) as a
// Fortran-ordered (rows, cols) numpy array that takes ownership of the buffer: no copy.
py::array owned_matrix(Matrix&& matrix);
py::array owned_vector(Vector&& vector);

// A scenario-major input array seen by C++ as a column-major `rows` x S matrix.
//
// Accepted: (S, rows) or (rows,) (one scenario), any real numeric dtype. A C-contiguous float64
// array is read in place (no copy); anything else (other dtype, Fortran order, strided slices,
// Python lists) is converted once with numpy.ascontiguousarray(..., dtype=float64). Wrong shapes
// and non-numeric dtypes raise InputError naming the argument and the expected shape.
class ScenarioInput {
public:
    ScenarioInput(const py::handle& value, const char* name, Index rows, const char* rows_what);
    MatrixView view() const { return MatrixView(map_); }
    Index scenarios() const { return map_.cols(); }
    bool copied() const { return copied_; }
    const Real* data() const { return map_.data(); }

private:
    ScenarioInput(std::pair<py::array, bool> prepared, Index rows);
    // The array C++ will read (the caller's, or its one converted copy) and whether it is a copy.
    static std::pair<py::array, bool> prepare(const py::handle& value, const char* name, Index rows,
                                              const char* rows_what);

    py::array array_;  // keeps the buffer alive while C++ reads it
    Eigen::Map<const Matrix> map_;
    bool copied_;
};

// An enum argument given as one of its names (e.g. "distributed") or as the bound enum value;
// anything else (an int, None) is refused naming the argument and its choices.
template <class E>
E enum_arg(const py::handle& value, const char* name,
           std::initializer_list<std::pair<const char*, E>> names) {
    if (py::isinstance<E>(value)) return value.cast<E>();
    const bool text = py::isinstance<py::str>(value);
    std::string choices;
    for (const auto& [n, e] : names) {
        if (text && value.cast<std::string>() == n) return e;
        choices += std::string(choices.empty() ? "'" : ", '") + n + "'";
    }
    throw Error(ErrorKind::invalid_input,
                std::string(name) + " must be one of " + choices + (text ? "" : " (or the enum)") +
                    ", got " +
                    (text ? "'" + value.cast<std::string>() + "'"
                          : std::string(py::str(py::repr(value))) + " (" +
                                std::string(py::str(value.get_type().attr("__name__"))) + ")"));
}

// The per-scenario report (status, iterations, max_mismatch) of a result type with `report`.
template <class Result>
void add_report(py::class_<Result>& cls) {
    cls.def_property_readonly(
           "status",
           [](const py::object& self) {
               const auto& v = self.cast<const Result&>().report.status;
               return vector_view(v.data(), v.size(), self);
           },
           "(S,) int8: Status code of each scenario (0 = converged; see gridbatch.Status).")
        .def_property_readonly(
            "iterations",
            [](const py::object& self) {
                const auto& v = self.cast<const Result&>().report.iterations;
                return vector_view(v.data(), v.size(), self);
            },
            "(S,) int32: iterations of each scenario.")
        .def_property_readonly(
            "max_mismatch",
            [](const py::object& self) {
                const auto& v = self.cast<const Result&>().report.max_mismatch;
                return vector_view(v.data(), v.size(), self);
            },
            "(S,) float64: final max |mismatch| of each scenario, p.u. (as the solver tested it)")
        .def_property_readonly(
            "converged",
            [](const Result& r) {
                py::array_t<bool> out(r.report.size());
                for (Index s = 0; s < r.report.size(); ++s)
                    out.mutable_at(s) = r.report.at(s) == Status::converged;
                return out;
            },
            "(S,) bool: which scenarios converged (a new array).")
        .def_property_readonly(
            "n_converged", [](const Result& r) { return r.report.n_converged(); },
            "Number of converged scenarios.")
        .def_property_readonly(
            "all_converged", [](const Result& r) { return r.report.all_converged(); },
            "Whether every scenario converged.")
        .def(
            "status_of",
            [](const Result& r, Index s) {
                if (s < 0 || s >= r.report.size())
                    throw Error(ErrorKind::invalid_input,
                                "scenario " + std::to_string(s) + " is out of range (0.." +
                                    std::to_string(r.report.size() - 1) + ")");
                return r.report.at(s);
            },
            py::arg("scenario"), "The Status of one scenario.")
        .def_readonly("backend", &Result::backend, "The backend that ran: cpu or cuda.")
        .def(
            "__len__", [](const Result& r) { return r.report.size(); }, "Number of scenarios S.");
}

// Optional argument: none when `value` is None.
std::optional<ScenarioInput> optional_input(const py::handle& value, const char* name, Index rows,
                                            const char* rows_what);

// An outage list given from Python: the C++ options read an empty list as "every in-service
// branch", which Python spells None; a list left empty (by a filter that kept nothing, say) is
// refused rather than read as all of them.
inline std::vector<Index> given_outages(const std::vector<Index>& outages, const char* function) {
    if (outages.empty())
        throw Error(
            ErrorKind::invalid_input,
            std::string(function) + ": outages is empty; give None for every in-service branch");
    return outages;
}

// The scenario count of a call's arrays: the first one given sets it, and any other that differs
// is refused in the arrays' own terms (rows), naming both.
class ScenarioCount {
public:
    void add(const std::optional<ScenarioInput>& in, const char* name) {
        if (in) add(in->scenarios(), name, "scenarios (rows)");
    }
    void add(Index n, const char* name, const char* unit);
    bool given() const { return first_ != nullptr; }
    Index scenarios() const { return scenarios_; }

private:
    const char* first_ = nullptr;
    Index scenarios_ = 0;
};

// A 1-D real vector argument (copied to an Eigen vector; small per-element options only).
Vector to_vector(const py::handle& value, const char* name, std::optional<Index> expected_size,
                 const char* size_what);

// An integer column from Python: any real array whose values are whole numbers the column's type
// holds (a status of 256 would otherwise wrap to 0, out of service).
template <class V>
V integer_column(const py::handle& value, const std::string& what) {
    using Scalar = typename V::Scalar;
    static_assert(std::is_signed<Scalar>::value, "signed columns: max = -min - 1");
    const double lo = static_cast<double>(std::numeric_limits<Scalar>::min());
    const Vector v = to_vector(value, what.c_str(), std::nullopt, "");
    V out(v.size());
    for (Index i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]))
            throw Error(ErrorKind::invalid_input, what + "[" + std::to_string(i) +
                                                      "] must be a whole number, got " +
                                                      detail::num(v[i]));
        if (!(v[i] >= lo && v[i] < -lo))  // -lo: exact in a double, unlike the maximum
            throw Error(ErrorKind::invalid_input, what + "[" + std::to_string(i) +
                                                      "] = " + detail::num(v[i]) +
                                                      " is out of range (" + detail::num(lo) +
                                                      " to " + detail::num(-lo - 1) + ")");
        out[i] = static_cast<Scalar>(v[i]);
    }
    return out;
}

}  // namespace gridbatch::python
