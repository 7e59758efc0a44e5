"""Type stub of gridbatch (the compiled gridbatch._core, re-exported). Arrays of scenarios are
scenario-major: (S, n). See the package docstring for the copy rules."""

import enum
import math
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]
PathLike = Union[str, os.PathLike]

# --- errors -------------------------------------------------------------------------------
class Error(Exception):
    kind: str  # 'invalid_input', 'io', 'backend_unavailable', 'device'

class InputError(Error, ValueError): ...
class FileError(InputError, OSError): ...
class BackendUnavailableError(Error, RuntimeError): ...
class DeviceError(Error, RuntimeError): ...

# --- backends -----------------------------------------------------------------------------
# The enums are pybind11's: members with .name and .value (an int); a member does not compare
# equal to its int (result.status arrays hold ints: compare with Status.converged.value).
class Backend(enum.Enum):
    cpu = 0
    cuda = 1
    automatic = 2

BackendLike = Union[Backend, str]  # 'cpu', 'cuda', 'auto'
CommLike = Any  # None (this process; Ctrl-C between chunks), a Communicator or an mpi4py.MPI.Comm

class BackendStatus:
    available: bool
    reason: str
    def __bool__(self) -> bool: ...

def backend_status(backend: BackendLike) -> BackendStatus: ...
def available_backends() -> List[Backend]: ...
def resolve_backend(backend: BackendLike = "auto") -> Backend: ...
def build_info() -> Dict[str, Any]: ...

class Status(enum.Enum):
    converged = 0
    max_iterations = 1
    diverged = 2
    singular = 3
    infeasible = 4
    not_solved = 5
    islanded = 6
    relaxation_gap = 7

class _Report:
    @property
    def status(self) -> I8: ...
    @property
    def iterations(self) -> I32: ...
    @property
    def max_mismatch(self) -> F64: ...
    @property
    def converged(self) -> Bools: ...
    @property
    def n_converged(self) -> int: ...
    @property
    def all_converged(self) -> bool: ...
    @property
    def backend(self) -> Backend: ...
    def status_of(self, scenario: int) -> Status: ...
    def __len__(self) -> int: ...

# --- network ------------------------------------------------------------------------------
class BusTable:
    columns: Tuple[str, ...]
    id: I64
    type: I8
    pd: F64
    qd: F64
    gs: F64
    bs: F64
    vm: F64
    va: F64
    base_kv: F64
    vmax: F64
    vmin: F64
    area: I64
    zone: I64
    def __len__(self) -> int: ...
    def to_dict(self) -> Dict[str, np.ndarray]: ...

class GeneratorTable:
    columns: Tuple[str, ...]
    bus: I64
    pg: F64
    qg: F64
    qmax: F64
    qmin: F64
    vg: F64
    mbase: F64
    pmax: F64
    pmin: F64
    in_service: I8
    def __len__(self) -> int: ...
    def to_dict(self) -> Dict[str, np.ndarray]: ...

class BranchTable:
    columns: Tuple[str, ...]
    from_bus: I64
    to_bus: I64
    r: F64
    x: F64
    b: F64
    rate_a: F64
    rate_b: F64
    rate_c: F64
    tap: F64
    shift: F64
    in_service: I8
    angle_min: F64
    angle_max: F64
    def __len__(self) -> int: ...
    def to_dict(self) -> Dict[str, np.ndarray]: ...

class Network:
    @staticmethod
    def from_tables(base_mva: float, bus: Dict[str, ArrayLike], gen: Dict[str, ArrayLike],
                    branch: Dict[str, ArrayLike], source: str = "network") -> Network: ...
    @property
    def base_mva(self) -> float: ...
    @property
    def n_bus(self) -> int: ...
    @property
    def n_gen(self) -> int: ...
    @property
    def n_branch(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def notes(self) -> List[str]: ...
    @property
    def bus(self) -> BusTable: ...
    @property
    def gen(self) -> GeneratorTable: ...
    @property
    def branch(self) -> BranchTable: ...
    @property
    def reference_bus(self) -> int: ...
    @property
    def n_transformers(self) -> int: ...
    @property
    def n_areas(self) -> int: ...
    @property
    def branch_from_index(self) -> I32: ...
    @property
    def branch_to_index(self) -> I32: ...
    @property
    def gen_bus_index(self) -> I32: ...
    @property
    def branch_active(self) -> Bools: ...
    @property
    def gen_active(self) -> Bools: ...
    @overload
    def internal_bus(self, ids: int) -> int: ...
    @overload
    def internal_bus(self, ids: ArrayLike) -> I64: ...
    def has_bus(self, id: int) -> bool: ...

def read_matpower(path: PathLike) -> Network: ...
def parse_matpower(text: str, name: str = "<string>") -> Network: ...
def write_matpower(network: Network, path: PathLike, name: str = "case") -> None: ...
def format_matpower(network: Network, name: str = "case") -> str: ...
def builtin_network() -> Network: ...

BUILTIN_POI_161: int
BUILTIN_POI_500: int

class CsrMatrix:
    data: F64
    indices: I32
    indptr: I32
    shape: Tuple[int, int]
    nnz: int
    def as_tuple(self) -> Tuple[F64, I32, I32, Tuple[int, int]]: ...
    def to_dense(self) -> F64: ...
    def to_scipy(self) -> Any: ...

class ComplexCsrMatrix:
    data: npt.NDArray[np.complex128]
    indices: I32
    indptr: I32
    shape: Tuple[int, int]
    nnz: int
    def as_tuple(self) -> Tuple[npt.NDArray[np.complex128], I32, I32, Tuple[int, int]]: ...
    def to_dense(self) -> npt.NDArray[np.complex128]: ...
    def to_scipy(self) -> Any: ...

class Admittance:
    ybus: ComplexCsrMatrix
    yf: ComplexCsrMatrix
    yt: ComplexCsrMatrix

class DcMatrices:
    bbus: CsrMatrix
    bf: CsrMatrix
    pbusinj: F64
    pfinj: F64

def make_admittance(network: Network) -> Admittance: ...
def make_dc_matrices(network: Network) -> DcMatrices: ...
def bus_injections(network: Network) -> npt.NDArray[np.complex128]: ...

# --- DC power flow and sensitivities --------------------------------------------------------
class SlackMode(enum.Enum):
    single = 0
    distributed = 1

class DcPowerFlowResult(_Report):
    va: F64  # (S, n_bus) degrees
    pf: F64  # (S, n_branch) MW
    pg: F64  # (S, n_gen) MW
    slack_mw: F64  # (S,) MW

class DcPowerFlow:
    def __init__(self, network: Network, *, backend: BackendLike = "auto", threads: int = 0,
                 device: int = 0, slack: Union[SlackMode, str] = "single",
                 participation: Optional[ArrayLike] = None) -> None: ...
    def solve(self, pd: Optional[ArrayLike] = None,
              pg: Optional[ArrayLike] = None) -> DcPowerFlowResult: ...
    @property
    def backend(self) -> Backend: ...
    @property
    def network(self) -> Network: ...

def dc_power_flow(network: Network, pd: Optional[ArrayLike] = None,
                  pg: Optional[ArrayLike] = None, *, backend: BackendLike = "auto",
                  threads: int = 0, device: int = 0, slack: Union[SlackMode, str] = "single",
                  participation: Optional[ArrayLike] = None) -> DcPowerFlowResult: ...

def ptdf(power_flow: DcPowerFlow, *, slack_bus: Optional[int] = None) -> F64: ...
def ptdf_columns(power_flow: DcPowerFlow, buses: Sequence[int], *,
                 slack_bus: Optional[int] = None) -> F64: ...
def ptdf_rows(power_flow: DcPowerFlow, branches: Sequence[int], *,
              slack_bus: Optional[int] = None) -> F64: ...

class Lodf:
    factors: F64  # (n_branch, n_outages)
    outages: I64
    islanding: Bools

def lodf(power_flow: DcPowerFlow, outages: Optional[Sequence[int]] = None) -> Lodf: ...
def islanding_branches(network: Network) -> Bools: ...

class N1Result:
    violations: np.ndarray  # structured: scenario, outage, branch (int64), loading_percent
    worst_loading_percent: F64
    worst_outage: I64
    worst_branch: I64
    screened: I64
    islanding: I64
    base: DcPowerFlowResult
    def __len__(self) -> int: ...

def n1_screen(power_flow: DcPowerFlow, pd: Optional[ArrayLike] = None, *,
              outages: Optional[Sequence[int]] = None, threshold_percent: float = 100.0,
              min_increase_percent: float = -math.inf, outages_per_block: int = 256,
              comm: CommLike = None) -> N1Result: ...

# --- AC power flow --------------------------------------------------------------------------
class AcAlgorithm(enum.Enum):
    newton = 0
    fast_decoupled_xb = 1
    fast_decoupled_bx = 2

class StartMode(enum.Enum):
    flat = 0
    from_case = 1
    from_dc = 2
    warm = 3
    previous_step = 4

class AcPowerFlowResult(_Report):
    vm: F64  # (S, n_bus) p.u.
    va: F64  # (S, n_bus) degrees
    pg: F64
    qg: F64
    pf: F64
    qf: F64
    pt: F64
    qt: F64
    loss_mw: F64
    loss_mvar: F64
    slack_mw: F64
    q_limited_buses: List[List[int]]

class AcPowerFlow:
    def __init__(self, network: Network, *, backend: BackendLike = "auto", threads: int = 0, device: int = 0,
                 algorithm: Union[AcAlgorithm, str] = "newton", tolerance: float = 1e-8,
                 max_iterations: int = 0, start: Union[StartMode, str] = "from_case",
                 enforce_q_limits: bool = False, slack: Union[SlackMode, str] = "single",
                 participation: Optional[ArrayLike] = None) -> None: ...
    def solve(self, pd: Optional[ArrayLike] = None, qd: Optional[ArrayLike] = None, *,
              pg: Optional[ArrayLike] = None, vg: Optional[ArrayLike] = None,
              vm0: Optional[ArrayLike] = None, va0: Optional[ArrayLike] = None,
              outage: Optional[ArrayLike] = None, chunk: int = 0) -> AcPowerFlowResult: ...
    @property
    def backend(self) -> Backend: ...
    @property
    def network(self) -> Network: ...

def ac_power_flow(network: Network, pd: Optional[ArrayLike] = None,
                  qd: Optional[ArrayLike] = None, *, pg: Optional[ArrayLike] = None,
                  vg: Optional[ArrayLike] = None, vm0: Optional[ArrayLike] = None,
                  va0: Optional[ArrayLike] = None, outage: Optional[ArrayLike] = None,
                  backend: BackendLike = "auto", threads: int = 0, device: int = 0, algorithm: Union[AcAlgorithm, str] = "newton",
                  tolerance: float = 1e-8, max_iterations: int = 0,
                  start: Union[StartMode, str] = "from_case", enforce_q_limits: bool = False,
                  slack: Union[SlackMode, str] = "single",
                  participation: Optional[ArrayLike] = None) -> AcPowerFlowResult: ...

class AcContingencyResult:
    outages: I64
    cases: Dict[str, np.ndarray]  # one entry per power flow: base case, then each outage
    monitored_vm: F64  # (S * (1 + n_outages), n_monitored)
    violations: np.ndarray  # structured: scenario, outage (-1: base), branch, loading_percent
    worst_loading_percent: F64
    worst_outage: I64
    worst_branch: I64
    lowest_vm: F64
    lowest_vm_bus: I64
    lowest_vm_outage: I64
    islanding: I64
    not_converged: int
    base: AcPowerFlowResult
    def __len__(self) -> int: ...

def ac_contingencies(power_flow: AcPowerFlow, pd: Optional[ArrayLike] = None,
                     qd: Optional[ArrayLike] = None, *, pg: Optional[ArrayLike] = None,
                     vg: Optional[ArrayLike] = None, vm0: Optional[ArrayLike] = None,
                     va0: Optional[ArrayLike] = None, outages: Optional[Sequence[int]] = None,
                     threshold_percent: float = 100.0,
                     monitored_buses: Optional[Sequence[int]] = None, chunk: int = 0,
                     comm: CommLike = None) -> AcContingencyResult: ...

# --- battery dispatch and synthetic load ----------------------------------------------------
class BatteryUnit:
    name: str
    energy_mwh: float
    charge_mw: float
    discharge_mw: float
    round_trip_efficiency: float
    def __init__(self, **fields: Any) -> None: ...

def battery_unit(name: str) -> BatteryUnit: ...
def battery_unit_names() -> List[str]: ...

class TerminalCondition(enum.Enum):
    equal = 0
    at_least_initial = 1
    free = 2

class BatteryFleet:
    energy_mwh: float
    charge_mw: float
    discharge_mw: float
    charge_efficiency: float
    discharge_efficiency: float
    self_discharge_per_hour: float
    soc_min: float
    soc_max: float
    initial_soc: float
    terminal: TerminalCondition  # also settable as 'equal', 'at_least_initial', 'free'
    throughput_cost: float
    ramp_limit_mw_per_s: float
    def __init__(self, **fields: Any) -> None: ...
    @staticmethod
    def from_units(unit: Union[BatteryUnit, str], units: float) -> BatteryFleet: ...
    def validate(self) -> None: ...

class GridConnection:
    import_limit_mw: float
    export_allowed: bool
    backup_mw: float
    backup_ramp_mw_per_s: float
    backup_cost_per_mwh: float
    def __init__(self, **fields: Any) -> None: ...

class TrainingJob:
    gpu_share: float
    iteration_period_s: float
    period_jitter: float
    compute_share: float
    peak_level: float
    trough_level: float
    amplitude_jitter: float
    start_s: float
    stop_s: float
    ramp_s: float
    checkpoint_interval_s: float
    checkpoint_duration_s: float
    checkpoint_level: float
    failures_per_hour: float
    restart_outage_s: float
    def __init__(self, **fields: Any) -> None: ...

class TrainingLoadParameters:
    gpu_count: float
    it_kw_per_gpu: float
    idle_level: float
    pue: float
    cooling_time_constant_s: float
    noise: float
    jobs: List[TrainingJob]
    def __init__(self, **fields: Any) -> None: ...

class DispatchResult(_Report):
    battery_mw: F64  # (S, T)
    soc_mwh: F64  # (S, T + 1)
    grid_mw: F64  # (S, T)
    objective: F64
    infeasible_step: I64
    violation: F64
    violation_kind: I8
    method: I8
    relaxed_steps: I64

class DispatchMetrics:
    peak_mw: F64
    max_ramp_mw_per_s: F64
    max_ramp_mw_per_min: F64
    std_mw: F64
    throughput_mwh: F64
    equivalent_full_cycles: F64
    time_at_soc_limits_s: F64
    losses_mwh: F64
    band_energy: F64  # (S, n_bands)
    bands: List[Tuple[float, float]]

FleetLike = Union[BatteryFleet, Sequence[BatteryFleet]]

def dispatch(load: ArrayLike, fleet: FleetLike,
             grid: Union[None, GridConnection, Sequence[GridConnection]] = None, *,
             dt_seconds: float = 1.0, method: str = "auto", target: Optional[str] = None,
             backend: BackendLike = "auto", threads: int = 0, device: int = 0,
             comm: CommLike = None) -> DispatchResult: ...
def causal_filter(load: ArrayLike, fleet: FleetLike, *, dt_seconds: float = 1.0,
                  time_constant_s: float = 600.0,
                  soc_gain_per_hour: float = 1.0) -> DispatchResult: ...
def receding_horizon(load: ArrayLike, fleet: FleetLike,
                     grid: Union[None, GridConnection, Sequence[GridConnection]] = None, *,
                     horizon_steps: int = 3600, replan_every: int = 60,
                     forecast_noise: float = 0.0, seed: int = 1, dt_seconds: float = 1.0,
                     method: str = "auto", target: Optional[str] = None,
                     backend: BackendLike = "auto", threads: int = 0, device: int = 0) -> DispatchResult: ...
def dispatch_metrics(load: ArrayLike, result: DispatchResult, fleet: FleetLike, *,
                     dt_seconds: float = 1.0,
                     bands: Optional[Sequence[Tuple[float, float]]] = None) -> DispatchMetrics: ...
def size_fleet(load: ArrayLike, unit: Union[BatteryUnit, str], ramp_limit_mw_per_min: float, *,
               max_units: int = 1000, grid: Optional[GridConnection] = None,
               dt_seconds: float = 1.0, method: str = "auto", target: Optional[str] = None,
               backend: BackendLike = "auto", threads: int = 0, device: int = 0) -> I64: ...
def training_load(parameters: Union[None, TrainingLoadParameters,
                                    Sequence[TrainingLoadParameters]] = None, *,
                  n_scenarios: int = 1, steps: int = 3600, dt_seconds: float = 1.0,
                  seed: int = 1, backend: BackendLike = "auto", threads: int = 0, device: int = 0) -> F64: ...

# --- the data-centre study ------------------------------------------------------------------
class Strategy(enum.Enum):
    none = 0
    filter = 1
    optimal = 2
    ramp_aware = 3

class StudyOptions:
    poi_bus: int
    campus_mw: float
    power_factor: float
    unit: str
    fleet_units: float
    import_limit_mw: float
    ramp_limit_mw_per_min: float
    steps: int
    dt_seconds: float
    scenarios: int
    seed: int
    backend: Backend  # also settable as 'cpu', 'cuda', 'auto'
    threads: int
    sizing_points: int
    sizing_max_units: float
    n1_steps: int
    n1_ac: bool
    ac_chunk: int
    def __init__(self, **fields: Any) -> None: ...

class StrategyOutcome:
    dispatch: DispatchResult
    metrics: DispatchMetrics
    poi_vm: F64  # (S, T)
    max_loading: F64  # (S, T)
    ac_not_converged: I64
    poi_vm_min: F64
    poi_vm_max: F64
    poi_max_dv_step: F64
    peak_loading: F64
    voltage_violations: I64

class StudyResult:
    options: StudyOptions
    poi_bus: int
    load_mw: F64  # (S, T)
    outcomes: Dict[str, StrategyOutcome]
    voltage_violations: Dict[str, np.ndarray]
    n1: Dict[str, np.ndarray]
    sizing: List[Tuple[float, F64, F64]]  # units, max ramp of the optimal, of the ramp-aware
    smallest_fleet: I64
    ramp_aware_smallest_fleet: I64
    ramp_limit_mw_per_min: float
    backend: Backend
    seconds: float

def run_study(network: Optional[Network] = None, options: Optional[StudyOptions] = None, *,
              progress: Optional[Callable[[str, float], None]] = None, comm: CommLike = None,
              **fields: Any) -> StudyResult: ...
def write_study(result: StudyResult, network: Network, directory: PathLike) -> None: ...
def welch_psd(x: ArrayLike, dt: float, segment: int = 1024) -> Tuple[F64, F64]: ...

# --- ramp-aware dispatch --------------------------------------------------------------------
class SmoothDispatchSolver(enum.Enum):
    interior_point = 0
    admm = 1

class SmoothDispatchOptions:
    dt_seconds: float
    ramp_weight: float
    level_weight: float
    level_time_constant_s: float
    ramp_limit_mw_per_s: float
    energy_price: F64  # (T,)
    target_mw: F64  # (T,)
    peak_weight: float
    solver: SmoothDispatchSolver  # also settable as 'interior_point', 'admm'
    ipm_tolerance: float
    ipm_max_iterations: int
    eps_abs: float
    eps_rel: float
    eps_infeasible: float
    max_iterations: int
    rho: float
    adaptive_rho: bool
    threads: int
    backend: Backend
    device: int
    def __init__(self, **fields: Any) -> None: ...

class SmoothDispatchResult(DispatchResult):
    backup_mw: F64  # (S, T)
    dual_residual: F64
    limit_violation: F64
    max_ramp_mw_per_s: F64

def smooth_dispatch(load: ArrayLike, fleet: FleetLike,
                    grid: Union[None, GridConnection, Sequence[GridConnection]] = None, *,
                    options: Optional[SmoothDispatchOptions] = None, comm: CommLike = None,
                    **fields: Any) -> SmoothDispatchResult: ...
def smallest_fleet_for_ramp(load: ArrayLike, unit: Union[BatteryUnit, str],
                            ramp_limit_mw_per_min: float, *, max_units: int = 1000,
                            grid: Optional[GridConnection] = None,
                            options: Optional[SmoothDispatchOptions] = None,
                            first_probe: Optional[ArrayLike] = None,
                            **fields: Any) -> I64: ...

# --- scenario sharding over MPI processes ----------------------------------------------------
class Communicator:
    @property
    def rank(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def local_rank(self) -> int: ...

def local_communicator() -> Communicator: ...
def mpi_communicator(comm: Any = None) -> Communicator: ...  # comm: an mpi4py.MPI.Comm
def mpi_built() -> bool: ...
def device_for(comm: Communicator) -> int: ...
def launcher_rank() -> int: ...
def launched_by_mpi() -> bool: ...
@overload
def solve_sharded(power_flow: DcPowerFlow, pd: ArrayLike, comm: CommLike,
                  chunk: int = 256) -> DcPowerFlowResult: ...
@overload
def solve_sharded(power_flow: AcPowerFlow, pd: ArrayLike, qd: ArrayLike, comm: CommLike,
                  chunk: int = 64, *, pg: Optional[ArrayLike] = None,
                  vg: Optional[ArrayLike] = None, vm0: Optional[ArrayLike] = None,
                  va0: Optional[ArrayLike] = None,
                  outage: Optional[ArrayLike] = None) -> AcPowerFlowResult: ...
