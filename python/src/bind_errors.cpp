// gridbatch::Error as Python exceptions: one class per ErrorKind under the common base
// gridbatch.Error, each also a built-in exception so generic handlers work (bad input is a
// ValueError, a missing backend or a device failure a RuntimeError). The message is the C++ one,
// unchanged; the kind is kept as the exception's `kind` attribute.
#include <iterator>

#include "bindings.hpp"

namespace gridbatch::python {

namespace {

// Exception classes live as long as the interpreter (module attributes hold them too).
PyObject* g_classes[4] = {};  // by ErrorKind

PyObject* new_class(py::module_& m, const char* name, std::initializer_list<PyObject*> bases,
                    const char* doc) {
    const std::string qualified = std::string("gridbatch.") + name;
    py::tuple base_tuple(bases.size());
    std::size_t i = 0;
    for (PyObject* b : bases) base_tuple[i++] = py::reinterpret_borrow<py::object>(b);
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base_tuple.ptr(), nullptr);
    if (!cls) throw py::error_already_set();
    m.add_object(name, py::reinterpret_borrow<py::object>(cls));
    return cls;
}

}  // namespace

void bind_errors(py::module_& m) {
    PyObject* base = new_class(m, "Error", {PyExc_Exception},
                               "Base class of every error gridbatch raises. `kind` names the "
                               "C++ ErrorKind ('invalid_input', 'io', 'backend_unavailable', "
                               "'device').");
    PyObject* input =
        new_class(m, "InputError", {base, PyExc_ValueError},
                  "Invalid input: a malformed case, a wrong array shape or dtype, an option out "
                  "of range, an unknown bus. The message names the argument or file:line.");
    PyObject* file =
        new_class(m, "FileError", {input, PyExc_OSError}, "A file could not be opened or written.");
    PyObject* backend =
        new_class(m, "BackendUnavailableError", {base, PyExc_RuntimeError},
                  "The requested backend cannot run here; the message says why (not built, or "
                  "no usable device). backend='auto' falls back to the CPU instead.");
    PyObject* device = new_class(m, "DeviceError", {base, PyExc_RuntimeError},
                                 "A CUDA call failed; the message names the call and the error.");
    g_classes[static_cast<int>(ErrorKind::invalid_input)] = input;
    g_classes[static_cast<int>(ErrorKind::io)] = file;
    g_classes[static_cast<int>(ErrorKind::backend_unavailable)] = backend;
    g_classes[static_cast<int>(ErrorKind::device)] = device;

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            const auto index = static_cast<std::size_t>(e.kind());
            PyObject* cls = index < std::size(g_classes) ? g_classes[index] : g_classes[0];
            const py::object instance = py::reinterpret_borrow<py::object>(cls)(py::str(e.what()));
            instance.attr("kind") = to_string(e.kind());
            PyErr_SetObject(cls, instance.ptr());
        }
    });
}

}  // namespace gridbatch::python
