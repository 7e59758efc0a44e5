// Network, its tables, MATPOWER files, the built-in network and the network matrices.
//
// A Network is immutable (it is validated once, when built), so its table columns are read-only
// numpy views of the C++ vectors: `net.bus.pd` copies nothing and keeps `net` alive. To change a
// case, take `net.bus.to_dict()` (copies), edit, and build a new one with Network.from_tables.
#include <pybind11/stl.h>

#include <cmath>
#include <memory>

#include "bindings.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/network.hpp"

namespace gridbatch::python {

using namespace pybind11::literals;

namespace {

// One column of a table: its Python name, the member, and what it holds.
template <class Table>
struct Column {
    const char* name;
    const char* doc;
    IndexVector Table::*index = nullptr;
    FlagVector Table::*flag = nullptr;
    Vector Table::*real = nullptr;
};

template <class Table>
Column<Table> col(const char* name, IndexVector Table::*m, const char* doc) {
    return {name, doc, m, nullptr, nullptr};
}
template <class Table>
Column<Table> col(const char* name, FlagVector Table::*m, const char* doc) {
    return {name, doc, nullptr, m, nullptr};
}
template <class Table>
Column<Table> col(const char* name, Vector Table::*m, const char* doc) {
    return {name, doc, nullptr, nullptr, m};
}

const std::vector<Column<BusTable>>& bus_columns() {
    static const std::vector<Column<BusTable>> columns = {
        col("id", &BusTable::id, "external bus number (int64)"),
        col("type", &BusTable::type,
            "bus type, MATPOWER codes: 1 PQ, 2 PV, 3 REF, 4 isolated (int8)"),
        col("pd", &BusTable::pd, "active load, MW"),
        col("qd", &BusTable::qd, "reactive load, MVAr"),
        col("gs", &BusTable::gs, "shunt conductance, MW at V = 1 p.u."),
        col("bs", &BusTable::bs, "shunt susceptance, MVAr injected at V = 1 p.u."),
        col("vm", &BusTable::vm, "voltage magnitude, p.u."),
        col("va", &BusTable::va, "voltage angle, degrees"),
        col("base_kv", &BusTable::base_kv, "base voltage, kV"),
        col("vmax", &BusTable::vmax, "maximum voltage magnitude, p.u."),
        col("vmin", &BusTable::vmin, "minimum voltage magnitude, p.u."),
        col("area", &BusTable::area, "area number (int64)"),
        col("zone", &BusTable::zone, "loss zone (int64)"),
    };
    return columns;
}

const std::vector<Column<GeneratorTable>>& gen_columns() {
    static const std::vector<Column<GeneratorTable>> columns = {
        col("bus", &GeneratorTable::bus, "external bus number (int64)"),
        col("pg", &GeneratorTable::pg, "scheduled active power, MW"),
        col("qg", &GeneratorTable::qg, "reactive power, MVAr"),
        col("qmax", &GeneratorTable::qmax, "maximum reactive power, MVAr"),
        col("qmin", &GeneratorTable::qmin, "minimum reactive power, MVAr"),
        col("vg", &GeneratorTable::vg, "voltage setpoint, p.u."),
        col("mbase", &GeneratorTable::mbase, "machine base, MVA"),
        col("pmax", &GeneratorTable::pmax, "maximum active power, MW"),
        col("pmin", &GeneratorTable::pmin, "minimum active power, MW"),
        col("in_service", &GeneratorTable::in_service, "1 in service, 0 out (int8)"),
    };
    return columns;
}

const std::vector<Column<BranchTable>>& branch_columns() {
    static const std::vector<Column<BranchTable>> columns = {
        col("from_bus", &BranchTable::from, "external number of the from bus (int64)"),
        col("to_bus", &BranchTable::to, "external number of the to bus (int64)"),
        col("r", &BranchTable::r, "resistance, p.u."),
        col("x", &BranchTable::x, "reactance, p.u."),
        col("b", &BranchTable::b, "total line charging susceptance, p.u."),
        col("rate_a", &BranchTable::rate_a, "long-term rating, MVA (0 = unlimited)"),
        col("rate_b", &BranchTable::rate_b, "short-term rating, MVA"),
        col("rate_c", &BranchTable::rate_c, "emergency rating, MVA"),
        col("tap", &BranchTable::tap, "transformer off-nominal ratio (0 = line, i.e. 1)"),
        col("shift", &BranchTable::shift, "phase shift, degrees"),
        col("in_service", &BranchTable::in_service, "1 in service, 0 out (int8)"),
        col("angle_min", &BranchTable::angle_min, "minimum angle difference, degrees"),
        col("angle_max", &BranchTable::angle_max, "maximum angle difference, degrees"),
    };
    return columns;
}

template <class Table>
py::array column_view(const Table& table, const Column<Table>& c, const py::handle& owner) {
    if (c.index) return vector_view((table.*c.index).data(), (table.*c.index).size(), owner);
    if (c.flag) return vector_view((table.*c.flag).data(), (table.*c.flag).size(), owner);
    return vector_view((table.*c.real).data(), (table.*c.real).size(), owner);
}

template <class Table>
Table table_from_dict(const py::dict& d, const std::vector<Column<Table>>& columns,
                      const char* table_name) {
    Table table;
    for (const auto& c : columns) {
        const std::string what = std::string(table_name) + "['" + c.name + "']";
        if (!d.contains(c.name))
            throw Error(ErrorKind::invalid_input,
                        std::string(table_name) + " has no column '" + c.name + "'");
        const py::handle v = d[c.name];
        if (c.index)
            table.*c.index = integer_column<IndexVector>(v, what);
        else if (c.flag)  // a boolean in_service (as gen_active gives) is 0/1
            table.*c.flag = integer_column<FlagVector>(
                py::isinstance<py::array>(v) && py::array(v.cast<py::array>()).dtype().kind() == 'b'
                    ? py::object(v.attr("astype")("int8"))
                    : py::reinterpret_borrow<py::object>(v),
                what);
        else
            table.*c.real = to_vector(v, what.c_str(), std::nullopt, "");
    }
    for (const auto item : d) {
        const auto key = py::str(item.first).cast<std::string>();
        bool known = false;
        for (const auto& c : columns) known = known || key == c.name;
        if (!known)
            throw Error(ErrorKind::invalid_input,
                        std::string(table_name) + " has an unknown column '" + key + "'");
    }
    return table;
}

template <class Table>
void bind_table(py::module_& m, const char* name, const char* doc,
                const std::vector<Column<Table>>& columns) {
    py::class_<Table> cls(m, name, doc);
    for (const auto& c : columns)
        cls.def_property_readonly(
            c.name,
            [c](const py::object& self) { return column_view(self.cast<const Table&>(), c, self); },
            (std::string(c.doc) + ". Read-only view of the network's data (no copy).").c_str());
    cls.def(
        "__len__", [](const Table& t) { return t.size(); }, "Number of rows.");
    py::tuple names(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) names[i] = py::str(columns[i].name);
    cls.attr("columns") = names;  // column names, in MATPOWER's order
    cls.def(
        "to_dict",
        [columns](const py::object& self) {
            py::dict d;
            for (const auto& c : columns)
                d[c.name] = column_view(self.cast<const Table&>(), c, self).attr("copy")();
            return d;
        },
        "The columns as a dict of writable numpy copies, e.g. to edit and pass to "
        "Network.from_tables.");
}

// Real or complex CSR matrix: the arrays are read-only views owned by the matrix object.
template <class Sparse>
void bind_csr(py::module_& m, const char* name, const char* doc) {
    using Scalar = typename Sparse::Scalar;
    py::class_<Sparse>(m, name, doc)
        .def_property_readonly(
            "data",
            [](const py::object& self) {
                const auto& s = self.cast<const Sparse&>();
                return vector_view(s.valuePtr(), s.nonZeros(), self);
            },
            "Non-zero values, row by row (nnz,).")
        .def_property_readonly(
            "indices",
            [](const py::object& self) {
                const auto& s = self.cast<const Sparse&>();
                return vector_view(s.innerIndexPtr(), s.nonZeros(), self);
            },
            "Column index of each value (nnz,), int32.")
        .def_property_readonly(
            "indptr",
            [](const py::object& self) {
                const auto& s = self.cast<const Sparse&>();
                return vector_view(s.outerIndexPtr(), s.outerSize() + 1, self);
            },
            "Row starts into data/indices (rows + 1,), int32.")
        .def_property_readonly(
            "shape", [](const Sparse& s) { return py::make_tuple(s.rows(), s.cols()); },
            "(rows, cols).")
        .def_property_readonly(
            "nnz", [](const Sparse& s) { return s.nonZeros(); }, "Number of stored values.")
        .def(
            "as_tuple",
            [](const py::object& self) {
                return py::make_tuple(self.attr("data"), self.attr("indices"), self.attr("indptr"),
                                      self.attr("shape"));
            },
            "(data, indices, indptr, shape): what scipy.sparse.csr_matrix accepts.")
        .def(
            "to_dense",
            [](const Sparse& s) {
                using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
                Dense dense(s);
                auto* heap = new Dense(std::move(dense));
                const py::capsule owner(heap, [](void* p) { delete static_cast<Dense*>(p); });
                constexpr auto size = static_cast<py::ssize_t>(sizeof(Scalar));
                return py::array(py::dtype::of<Scalar>(), {heap->rows(), heap->cols()},
                                 {size, heap->rows() * size}, heap->data(), owner);
            },
            "A dense numpy copy.")
        .def(
            "to_scipy",
            [](const py::object& self) {
                const py::module_ sparse = py::module_::import("scipy.sparse");
                return sparse.attr("csr_matrix")(
                    py::make_tuple(self.attr("data"), self.attr("indices"), self.attr("indptr")),
                    "shape"_a = self.attr("shape"));
            },
            "A scipy.sparse.csr_matrix sharing the arrays (needs scipy).")
        .def("__repr__", [name](const Sparse& s) {
            return std::string(name) + "(shape=(" + std::to_string(s.rows()) + ", " +
                   std::to_string(s.cols()) + "), nnz=" + std::to_string(s.nonZeros()) + ")";
        });
}

}  // namespace

void bind_network(py::module_& m) {
    bind_table<BusTable>(m, "BusTable", "The bus table of a Network (MATPOWER's mpc.bus).",
                         bus_columns());
    bind_table<GeneratorTable>(m, "GeneratorTable",
                               "The generator table of a Network (MATPOWER's mpc.gen).",
                               gen_columns());
    bind_table<BranchTable>(m, "BranchTable",
                            "The branch table of a Network (MATPOWER's mpc.branch).",
                            branch_columns());

    py::class_<Network, std::shared_ptr<Network>>(
        m, "Network",
        "A validated power network in MATPOWER's data model: tables in MATPOWER units (MW, "
        "MVAr, p.u., degrees, kV), rows in the case's order. Immutable; read it with "
        "read_matpower, parse_matpower or builtin_network, or build it with from_tables.")
        .def_static(
            "from_tables",
            [](Real base_mva, const py::dict& bus, const py::dict& gen, const py::dict& branch,
               const std::string& source) {
                return Network::from_tables(base_mva, table_from_dict(bus, bus_columns(), "bus"),
                                            table_from_dict(gen, gen_columns(), "gen"),
                                            table_from_dict(branch, branch_columns(), "branch"),
                                            source);
            },
            py::arg("base_mva"), py::arg("bus"), py::arg("gen"), py::arg("branch"),
            py::arg("source") = "network",
            "Builds and validates a network from dicts of columns (the names of "
            "BusTable.columns etc., as returned by to_dict()). Raises InputError naming the "
            "table, column and row that is wrong.")
        .def_property_readonly("base_mva", &Network::base_mva, "System MVA base.")
        .def_property_readonly("n_bus", &Network::n_bus, "Number of buses.")
        .def_property_readonly("n_gen", &Network::n_gen, "Number of generators.")
        .def_property_readonly("n_branch", &Network::n_branch, "Number of branches.")
        .def_property_readonly("source", &Network::source, "Where the network came from.")
        .def_property_readonly("notes", &Network::notes,
                               "What the source held that the model leaves out, one sentence "
                               "each naming file and line (e.g. an ignored mpc.dcline).")
        .def_property_readonly("bus", &Network::buses, py::return_value_policy::reference_internal,
                               "The bus table (columns are read-only numpy views).")
        .def_property_readonly("gen", &Network::generators,
                               py::return_value_policy::reference_internal,
                               "The generator table (columns are read-only numpy views).")
        .def_property_readonly("branch", &Network::branches,
                               py::return_value_policy::reference_internal,
                               "The branch table (columns are read-only numpy views).")
        .def_property_readonly("reference_bus", &Network::reference_bus,
                               "Row (internal index) of the first reference bus.")
        .def_property_readonly("n_transformers", &Network::n_transformers,
                               "Branches with a tap ratio or a phase shift.")
        .def_property_readonly("n_areas", &Network::n_areas, "Number of distinct areas.")
        .def(
            "internal_bus",
            [](const Network& n, const py::object& ids) -> py::object {
                const py::module_ np = py::module_::import("numpy");
                const bool scalar = np.attr("ndim")(ids).cast<int>() == 0;
                const IndexVector v =
                    integer_column<IndexVector>(np.attr("atleast_1d")(ids), "ids");
                if (scalar) return py::int_(n.internal_bus(v[0]));
                IndexVector out(v.size());
                for (Index i = 0; i < v.size(); ++i) out[i] = n.internal_bus(v[i]);
                return py::array_t<Index>(out.size(), out.data());
            },
            py::arg("ids"),
            "Row index of an external bus number, or an int64 array of them for an array of "
            "numbers. Raises InputError naming an unknown number.")
        .def("has_bus", &Network::has_bus, py::arg("id"), "Whether bus number `id` exists.")
        .def_property_readonly(
            "branch_from_index",
            [](const py::object& self) {
                const auto& v = self.cast<const Network&>().branch_from();
                return vector_view(v.data(), v.size(), self);
            },
            "Row of each branch's from bus (int32, no copy).")
        .def_property_readonly(
            "branch_to_index",
            [](const py::object& self) {
                const auto& v = self.cast<const Network&>().branch_to();
                return vector_view(v.data(), v.size(), self);
            },
            "Row of each branch's to bus (int32, no copy).")
        .def_property_readonly(
            "gen_bus_index",
            [](const py::object& self) {
                const auto& v = self.cast<const Network&>().gen_bus();
                return vector_view(v.data(), v.size(), self);
            },
            "Row of each generator's bus (int32, no copy).")
        .def_property_readonly(
            "branch_active",
            [](const Network& n) {
                py::array_t<bool> out(n.n_branch());
                for (Index k = 0; k < n.n_branch(); ++k) out.mutable_at(k) = n.branch_active(k);
                return out;
            },
            "Per branch: in service with neither end isolated (MATPOWER's ext2int rule).")
        .def_property_readonly(
            "gen_active",
            [](const Network& n) {
                py::array_t<bool> out(n.n_gen());
                for (Index g = 0; g < n.n_gen(); ++g) out.mutable_at(g) = n.gen_active(g);
                return out;
            },
            "Per generator: in service at a bus that is not isolated.")
        .def("__repr__", [](const Network& n) {
            return "<gridbatch.Network '" + n.source() + "': " + std::to_string(n.n_bus()) +
                   " buses, " + std::to_string(n.n_gen()) + " generators, " +
                   std::to_string(n.n_branch()) + " branches, baseMVA " +
                   py::str(py::float_(n.base_mva())).cast<std::string>() + ">";
        });

    m.def(
        "read_matpower",
        [](const py::object& path) {
            const std::string p = py::str(py::module_::import("os").attr("fspath")(path));
            py::gil_scoped_release nogil;
            return read_matpower(p);
        },
        py::arg("path"),
        "Reads a MATPOWER case file (format version 2, .m). Errors name the file and line "
        "(InputError; FileError when the file cannot be opened).");
    m.def(
        "parse_matpower",
        [](const std::string& text, const std::string& name) { return parse_matpower(text, name); },
        py::arg("text"), py::arg("name") = "<string>",
        "Parses MATPOWER case text; `name` stands for the file in error messages.");
    m.def(
        "write_matpower",
        [](const Network& net, const py::object& path, const std::string& name) {
            write_matpower(net, py::str(py::module_::import("os").attr("fspath")(path)), name);
        },
        py::arg("network"), py::arg("path"), py::arg("name") = "case",
        "Writes a MATPOWER case file that read_matpower reads back to the same tables.");
    m.def("format_matpower", &format_matpower, py::arg("network"), py::arg("name") = "case",
          "The MATPOWER case file text of a network.");
    m.def("builtin_network", &builtin_network,
          "The built-in study network: a synthetic 500/161 kV transmission region with a "
          "data-centre point of interconnection (BUILTIN_POI_161, BUILTIN_POI_500).");
    m.attr("BUILTIN_POI_161") = kBuiltinPoi161;
    m.attr("BUILTIN_POI_500") = kBuiltinPoi500;

    bind_csr<SparseMatrix>(m, "CsrMatrix",
                           "A real sparse matrix in CSR form (int32 indices, as cuSPARSE).");
    bind_csr<ComplexSparseMatrix>(m, "ComplexCsrMatrix",
                                  "A complex sparse matrix in CSR form (int32 indices).");

    py::class_<Admittance>(m, "Admittance",
                           "Ybus, Yf, Yt with MATPOWER's conventions (makeYbus), p.u.")
        .def_readonly("ybus", &Admittance::ybus, "n_bus x n_bus bus admittance matrix.")
        .def_readonly("yf", &Admittance::yf, "n_branch x n_bus: from-end currents If = Yf V.")
        .def_readonly("yt", &Admittance::yt, "n_branch x n_bus: to-end currents It = Yt V.");
    py::class_<DcMatrices>(m, "DcMatrices",
                           "Bbus, Bf, Pbusinj, Pfinj with MATPOWER's conventions (makeBdc), p.u.")
        .def_readonly("bbus", &DcMatrices::bbus, "n_bus x n_bus.")
        .def_readonly("bf", &DcMatrices::bf, "n_branch x n_bus: Pf = Bf Va + Pfinj.")
        .def_property_readonly(
            "pbusinj",
            [](const py::object& self) {
                const auto& v = self.cast<const DcMatrices&>().pbusinj;
                return vector_view(v.data(), v.size(), self);
            },
            "Phase-shifter bus injections (n_bus,), p.u.")
        .def_property_readonly(
            "pfinj",
            [](const py::object& self) {
                const auto& v = self.cast<const DcMatrices&>().pfinj;
                return vector_view(v.data(), v.size(), self);
            },
            "Phase-shifter branch injections (n_branch,), p.u.");

    m.def(
        "make_admittance",
        [](const Network& net) {
            Admittance a = make_admittance(net);
            a.ybus.makeCompressed();
            a.yf.makeCompressed();
            a.yt.makeCompressed();
            return a;
        },
        py::arg("network"),
        "Ybus, Yf and Yt in p.u. on baseMVA, internal bus order (MATPOWER's makeYbus).");
    m.def(
        "make_dc_matrices",
        [](const Network& net) {
            DcMatrices d = make_dc_matrices(net);
            d.bbus.makeCompressed();
            d.bf.makeCompressed();
            return d;
        },
        py::arg("network"), "Bbus, Bf, Pbusinj, Pfinj in p.u. (MATPOWER's makeBdc).");
    m.def(
        "bus_injections",
        [](const Network& net) {
            const ComplexVector s = bus_injections(net);
            return py::array_t<Complex>(s.size(), s.data());
        },
        py::arg("network"),
        "Complex bus injections of the case, p.u.: (Cg Sg - Sd) / baseMVA, active generators.");
}

}  // namespace gridbatch::python
