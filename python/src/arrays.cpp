// numpy <-> Eigen conversions shared by the bindings (see bindings.hpp for the layout rules).
#include <sstream>

#include "bindings.hpp"

namespace gridbatch::python {

using namespace pybind11::literals;

namespace {

std::string shape_text(const py::array& a) {
    std::ostringstream out;
    out << "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) out << (d ? ", " : "") << a.shape(d);
    out << (a.ndim() == 1 ? ",)" : ")");
    return out.str();
}

// The value as a numpy array of real numbers, without converting it yet.
py::array as_real_array(const py::handle& value, const char* name) {
    const py::module_ np = py::module_::import("numpy");
    py::array a = py::reinterpret_borrow<py::object>(np.attr("asarray")(value));
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u')
        throw Error(ErrorKind::invalid_input, std::string(name) +
                                                  " must be an array of real numbers, got dtype " +
                                                  py::str(a.dtype()).cast<std::string>());
    return a;
}

// Moves an Eigen object to the heap and hands it to numpy: the array's base is a capsule that
// deletes it, so no element is copied.
template <class T>
py::array take_ownership(T&& object, bool matrix) {
    using Scalar = typename std::decay_t<T>::Scalar;
    auto* heap = new std::decay_t<T>(std::move(object));
    const py::capsule owner(heap, [](void* p) { delete static_cast<std::decay_t<T>*>(p); });
    constexpr auto size = static_cast<py::ssize_t>(sizeof(Scalar));
    const auto rows = static_cast<py::ssize_t>(heap->rows());
    if (!matrix) return py::array(py::dtype::of<Scalar>(), {rows}, {size}, heap->data(), owner);
    return py::array(py::dtype::of<Scalar>(), {rows, static_cast<py::ssize_t>(heap->cols())},
                     {size, rows * size}, heap->data(), owner);
}

}  // namespace

Backend to_backend(const py::handle& value) {
    if (py::isinstance<py::str>(value)) return parse_backend(value.cast<std::string>());
    try {
        return value.cast<Backend>();
    } catch (const py::cast_error&) {
        throw Error(ErrorKind::invalid_input,
                    "backend must be 'cpu', 'cuda', 'auto' or a gridbatch.Backend, got " +
                        py::repr(value).cast<std::string>());
    }
}

py::array owned_matrix(Matrix&& matrix) { return take_ownership(std::move(matrix), true); }

py::array owned_vector(Vector&& vector) { return take_ownership(std::move(vector), false); }

std::uint64_t seed_arg(const py::handle& value, const char* name) {
    const auto refuse = [&] {
        throw Error(ErrorKind::invalid_input, std::string(name) +
                                                  " must be an integer in [0, 2**64) (got " +
                                                  py::repr(value).cast<std::string>() + ")");
    };
    if (py::isinstance<py::bool_>(value)) refuse();
    PyObject* index = PyNumber_Index(value.ptr());  // int, numpy integer, ...
    if (index == nullptr) {
        PyErr_Clear();
        refuse();
    }
    const unsigned long long seed = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (PyErr_Occurred()) {  // negative or too large
        PyErr_Clear();
        refuse();
    }
    return seed;
}

ScenarioInput::ScenarioInput(const py::handle& value, const char* name, Index rows,
                             const char* rows_what)
    : ScenarioInput(prepare(value, name, rows, rows_what), rows) {}

ScenarioInput::ScenarioInput(std::pair<py::array, bool> prepared, Index rows)
    : array_(std::move(prepared.first)),
      map_(static_cast<const Real*>(array_.data()), rows,
           array_.ndim() == 1 ? 1 : static_cast<Index>(array_.shape(0))),
      copied_(prepared.second) {}

std::pair<py::array, bool> ScenarioInput::prepare(const py::handle& value, const char* name,
                                                  Index rows, const char* rows_what) {
    py::array a = as_real_array(value, name);
    if ((a.ndim() != 1 && a.ndim() != 2) || a.shape(a.ndim() - 1) != rows) {
        std::ostringstream out;
        out << name << " has shape " << shape_text(a) << ", expected (S, " << rows << ") or ("
            << rows << ",): one row per scenario, one column per " << rows_what;
        throw Error(ErrorKind::invalid_input, out.str());
    }
    const bool in_place = a.dtype().equal(py::dtype::of<Real>()) &&
                          (a.flags() & py::array::c_style) != 0 &&
                          (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0;
    if (in_place) return {a, !py::isinstance<py::array>(value)};  // a list became a new array
    const py::module_ np = py::module_::import("numpy");
    return {np.attr("ascontiguousarray")(a, "dtype"_a = np.attr("float64")), true};
}

std::optional<ScenarioInput> optional_input(const py::handle& value, const char* name, Index rows,
                                            const char* rows_what) {
    if (value.is_none()) return std::nullopt;
    return ScenarioInput(value, name, rows, rows_what);
}

void ScenarioCount::add(Index n, const char* name, const char* unit) {
    if (first_ == nullptr) {
        first_ = name;
        scenarios_ = n;
        return;
    }
    if (n != scenarios_)
        throw Error(ErrorKind::invalid_input, std::string(name) + " has " + std::to_string(n) +
                                                  " " + unit + ", but " + first_ + " has " +
                                                  std::to_string(scenarios_) +
                                                  (scenarios_ == 1 ? " scenario" : " scenarios") +
                                                  ": give every array one row per scenario");
}

Vector to_vector(const py::handle& value, const char* name, std::optional<Index> expected_size,
                 const char* size_what) {
    const py::array a = as_real_array(value, name);
    if (a.ndim() != 1 || (expected_size && a.shape(0) != *expected_size)) {
        std::ostringstream out;
        out << name << " has shape " << shape_text(a) << ", expected ";
        if (expected_size)
            out << "(" << *expected_size << ",): one value per " << size_what;
        else
            out << "a 1-D array";
        throw Error(ErrorKind::invalid_input, out.str());
    }
    const py::module_ np = py::module_::import("numpy");
    const py::array_t<Real> c = np.attr("ascontiguousarray")(a, "dtype"_a = np.attr("float64"));
    return Eigen::Map<const Vector>(c.data(), c.shape(0));
}

}  // namespace gridbatch::python
