#!/usr/bin/env python3
"""Turns Google Benchmark JSON files into a Markdown report with a throughput plot.

usage: report.py RESULTS_DIR [RESULTS_DIR ...] OUT.md

With several result directories (full runs of the suite at different times), each row is the
run with the lowest time: a shared VM's speed swings for minutes at a time, so the best of runs
minutes apart is the closest to the machine's undisturbed speed.

Each benchmark's name is `<Solver>/<case>/<batch>` by convention (bench_*.cpp); every counter is
shown, and scenario rates (`scenarios_per_s`, `scenarios/s`, `pf/s`) are plotted against the
batch size. A table compares every performance target named in the issues with its measurement.
"""
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

# Google Benchmark's own fields; every other key of a benchmark record is a counter we show.
STANDARD = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
            "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
            "time_unit", "label", "aggregate_name", "aggregate_unit", "error_occurred",
            "error_message"}
RATE_KEYS = ("scenarios_per_s", "scenarios/s", "pf/s", "items_per_second")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_runs(results_dirs):
    """Rows of every run, each (program, solver) group in the first run's order, each row the
    run with the lowest real time; the contexts of the first run; the dates of every run."""
    groups, contexts = load(results_dirs[0])
    dates = [ctx["date"] for _, ctx in contexts if ctx.get("date")]
    for d in results_dirs[1:]:
        more, more_contexts = load(d)
        dates += [ctx["date"] for _, ctx in more_contexts if ctx.get("date")]
        for key, rows in more.items():
            have = groups.setdefault(key, [])
            at = {b["name"]: i for i, b in enumerate(have)}
            for b in rows:
                i = at.get(b["name"])
                if i is None:
                    at[b["name"]] = len(have)
                    have.append(b)
                elif b.get("time_unit") == have[i].get("time_unit") and \
                        b.get("real_time", 0.0) < have[i].get("real_time", 0.0):
                    have[i] = b
    return groups, contexts, dates


def load(results_dir):
    groups = {}
    contexts = []
    for fn in sorted(os.listdir(results_dir)):
        if not fn.endswith(".json"):
            continue
        try:
            with open(os.path.join(results_dir, fn)) as f:
                data = json.load(f)
        except (OSError, ValueError):
            print(f"report: skipping {fn} (no results)", file=sys.stderr)
            continue
        contexts.append((fn, data.get("context", {})))
        for b in data.get("benchmarks", []):
            # With repetitions (the full profile) the row is their median; without, the one run.
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") != "median":
                    continue
                b = dict(b, name=b.get("run_name", b["name"]))
            solver = b["name"].split("/")[0]
            groups.setdefault((fn[:-5], solver), []).append(b)
    return groups, contexts


def fmt(v):
    if isinstance(v, (int, float)):
        if v == 0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-2:
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(v)


def batch_of(name):
    for part in reversed(name.split("/")):
        if part.isdigit():
            return int(part)
    return None


# Plot titles of the benchmark families (the part of a name before `_` and `/`).
FAMILY_TITLES = {"AcNewton": "AC Newton", "AcFdxb": "AC fast-decoupled (XB)",
                 "AcNewtonEngine": "AC Newton, device-resident",
                 "AcFdxbEngine": "AC fast-decoupled, device-resident", "batch": "DC power flow",
                 "DcResident": "DC power flow, device-resident (dense)",
                 "DcResidentSparse": "DC power flow, device-resident (sparse)",
                 "n1": "N-1 screening (DC, all outages)"}


def plot(groups, path):
    """One panel per solver family and program (CPU and GPU apart); a colour per case, the same in
    every panel, and a line style per variant (one core, all cores, ...)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = {}
    for (prog, solver), rows in sorted(groups.items()):
        family, _, variant = solver.partition("_")
        series = {}
        for b in rows:
            batch = batch_of(b["name"])
            rate = next((b[k] for k in RATE_KEYS if k in b), None)
            if batch is None or rate is None:
                continue
            case = next((p for p in b["name"].split("/") if p.startswith("case")), "")
            series.setdefault((case, variant), []).append((batch, rate))
        lines = [(key, sorted(pts)) for key, pts in series.items() if len(pts) >= 2]
        if lines:
            panels.setdefault(f"{FAMILY_TITLES.get(family, family)} ({prog})", []).extend(lines)
    if not panels:
        return False
    cases = sorted({case for lines in panels.values() for (case, _), _ in lines})
    colour = {case: f"C{i % 10}" for i, case in enumerate(cases)}
    styles = ["-", "--", ":", "-."]
    n = len(panels)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.4 * rows), squeeze=False)
    for ax, (title, lines) in zip(axes.flat, sorted(panels.items())):
        variants = sorted({variant for (_, variant), _ in lines})
        for (case, variant), pts in lines:
            label = " ".join(x for x in (case, variant) if x) or title
            ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", color=colour[case],
                      linestyle=styles[variants.index(variant) % len(styles)], label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("scenarios per batch", fontsize=8)
        ax.set_ylabel("scenarios per second", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("gridbatch throughput against batch size")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# Every performance target named in the solver issues: (issue, what, target, benchmark name or
# None, how to read the measurement). A name matches the row of that name or a row whose name
# goes on after it with "/"; H100 targets read only files of GPU runs (named *cuda*, as
# scripts/gpu_run.sh names them: the CPU and CUDA runs of bench_dc have the same row names), the
# others only files of CPU runs. GPU rows stay "not measured" until a GPU run's JSON is in the
# results directory.
def _ms(b):
    t = b.get("real_time", 0.0)
    return t * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]


TARGETS = [
    ("#3 DC", "case9241pegase x 10,000 scenarios, H100", "< 5 ms",
     "DcResident/case9241pegase/10000", lambda b: f"{_ms(b):.3g} ms"),
    ("#3 DC", "the same with the sparse solve forced, H100 (to choose the default)", "< 5 ms",
     "DcResidentSparse/case9241pegase/10000", lambda b: f"{_ms(b):.3g} ms"),
    ("#3 DC", "N-1 of case2383wp, 1,000 scenarios, all outages, H100", "< 1 s",
     "n1/case2383wp/1000", lambda b: f"{_ms(b) / 1e3:.3g} s"),
    ("#3 DC", "N-1 of case2383wp, 1,000 scenarios, CPU (2 cores, for reference)", "-",
     "n1/case2383wp/1000", lambda b: f"{_ms(b) / 1e3:.3g} s"),
    ("#4 AC", "NR per power flow, case118, one core (LightSim2Grid ~38 us)", "<= 38 us",
     "AcNewtonTimeSeries_1core/case118/100/real_time",
     lambda b: f"{b.get('us_per_scenario', 0):.3g} us (time series); cold start see table"),
    ("#4 AC", "NR per power flow, case9241pegase, one core (LightSim2Grid ~8.8 ms)", "<= 8.8 ms",
     "AcNewtonTimeSeries_1core/case9241pegase/100/real_time",
     lambda b: f"{b.get('us_per_scenario', 0) / 1e3:.3g} ms (time series)"),
    ("#4 AC", "AC N-1: every branch of case2383wp out in turn, CPU (2 cores, for reference)",
     "-", "AcContingencies_allcores/case2383wp", lambda b: f"{_ms(b) / 1e3:.3g} s"),
    ("#4 AC", "10,000 NR power flows of case118, H100", "< 5 ms",
     "AcNewtonEngine/case118/10000", lambda b: f"{_ms(b):.3g} ms"),
    ("#4 AC", "1,000 NR power flows of case9241pegase, H100", "< 60 ms",
     "AcNewtonEngine/case9241pegase/1000", lambda b: f"{_ms(b):.3g} ms"),
    ("#5 dispatch", "one day at 1 s, one scenario, lossless, CPU", "< 5 ms",
     "BM_DispatchLossless/1/86400/real_time", lambda b: f"{_ms(b):.3g} ms"),
    ("#5 dispatch", "one day at 1 s, one scenario, lossy + limits, CPU", "< 5 ms",
     "BM_DispatchLossy/1/86400/real_time", lambda b: f"{_ms(b):.3g} ms"),
    ("#5 dispatch", "10,000 x 86,400 lossless, H100", "< 30 ms",
     "BM_DispatchLosslessDevice/10000/86400", lambda b: f"{_ms(b):.3g} ms"),
    ("#5 dispatch", "10,000 x 86,400 lossy, H100", "< 100 ms",
     "BM_DispatchLossyDevice/10000/86400", lambda b: f"{_ms(b):.3g} ms"),
    ("#5 dispatch", "synthetic load 10,000 x 86,400, H100", "< 10 ms",
     "BM_TrainingLoadDevice/10000/86400", lambda b: f"{_ms(b):.3g} ms"),
    ("#8 study", "default study on a 2-core CPU", "< 120 s", "study/default",
     lambda b: f"{_ms(b) / 1e3:.3g} s"),
]


def targets_table(groups):
    rows = [(prog, b) for (prog, _), bs in groups.items() for b in bs]
    lines = ["## Targets from the issues", "",
             "| issue | what | target | measured |", "|---|---|---|---|"]
    for issue, what, target, name, read in TARGETS:
        on_gpu = "H100" in what
        hits = [b for prog, b in rows
                if ("cuda" in prog) == on_gpu
                and (b["name"] == name or b["name"].startswith(name + "/"))
                and not b.get("error_occurred")]  # skipped: no device
        if hits and read:
            measured = read(hits[0])
        else:
            measured = "not measured (no GPU run recorded)" if "H100" in what else "not measured"
        lines.append(f"| {issue} | {what} | {target} | {measured} |")
    return lines + [""]


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    results_dirs, out = sys.argv[1:-1], sys.argv[-1]
    groups, contexts, run_dates = load_runs(results_dirs)
    # When the runs were made (Google Benchmark's context), else when the report is written.
    dates = sorted(d[:16].replace("T", " ") for d in run_dates)
    if not dates:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    elif dates[0] == dates[-1]:
        now = f"{dates[0]} UTC"
    else:
        same_day = dates[0][:10] == dates[-1][:10]
        now = f"{dates[0]} to {dates[-1][11:] if same_day else dates[-1]} UTC"
    # The commits measured, as the result files record them (run.sh); older files without it
    # are taken to be of the checkout the report is written in.
    measured = sorted({ctx.get("gridbatch_commit", "") for _, ctx in contexts} - {""})
    commit = ", ".join(measured) if measured else f"{git_commit()} (the checkout at report time)"
    lines = ["# gridbatch benchmark results", "",
             f"- date: {now}", f"- commit: {commit}", f"- CPU: {cpu_model()} "
             f"({os.cpu_count()} cores)"]
    for fn, ctx in contexts:
        dev = ctx.get("gridbatch_device")
        if dev:
            lines.append(f"- device ({fn}): {dev}")
    runs = len(results_dirs)
    best = (f" The suite ran {runs} times, minutes apart, and each row is the lowest of its "
            f"{runs} medians: this VM's speed swings by a third or more for minutes at a time, "
            "longer than a row's repetitions, so one run catches some rows in a slow phase."
            if runs > 1 else "")
    lines += ["", "Times are wall-clock per batch: the median of 3 repetitions, each at least 0.5 s "
              "of runs (rows with a fixed iteration count: the median of 3 runs)." + best +
              " On a shared "
              "virtual machine they vary from run to run: up to about 30 % was seen on the 2-core "
              "VM behind the CPU rows, and up to 3x on rows whose results take hundreds of MB "
              "(there each first touch of a fresh 4 KiB page costs several us, a page fault through "
              "the VM's paging), so compare rows of one report and treat single-digit differences "
              "as noise. The benchmark programs keep glibc's allocator defaults, as a program "
              "embedding the library would; the study row runs the `gridbatch` program, which "
              "keeps freed memory (README, Performance). Regenerate with "
              "`benchmarks/run.sh full`.", ""]
    lines += targets_table(groups)
    png = os.path.splitext(out)[0] + "_throughput.png"
    if plot(groups, png):
        lines += [f"![throughput]({os.path.basename(png)})", ""]
    for (prog, solver), all_rows in sorted(groups.items()):
        rows = [b for b in all_rows if not b.get("error_occurred")]
        lines += [f"## {solver} ({prog})", ""]
        # A skipped row (no device, case not found) has no time: list it once with the reason
        # instead of a 0 ms row per repetition.
        skipped = {}
        for b in all_rows:
            if b.get("error_occurred"):
                reason = b.get("error_message", "skipped").removeprefix("skipped: ")
                skipped.setdefault(reason, []).append(b["name"])
        for reason, names in skipped.items():
            names = list(dict.fromkeys(names))
            lines += [f"Not run ({reason}): " + ", ".join(f"`{n}`" for n in names) + ".", ""]
        if not rows:
            continue
        counters = []
        for b in rows:
            counters += [k for k in b if k not in STANDARD and k not in counters]
        lines += ["| benchmark | time per batch | " + " | ".join(counters) + " |",
                  "|---|---:|" + "---:|" * len(counters)]
        for b in rows:
            t = b.get("real_time", 0.0)
            unit = b.get("time_unit", "ns")
            name = b["name"] + (f" ({b['label']})" if b.get("label") else "")
            lines.append(f"| {name} | {fmt(t)} {unit} | " +
                         " | ".join(fmt(b.get(c, "")) for c in counters) + " |")
        lines.append("")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
