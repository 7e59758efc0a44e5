#!/usr/bin/env python3
"""Writes a seed corpus for the fuzz targets, made at run time from slices of ../shared/cases
(the shared data is never copied into the repository).

usage: make_corpus.py CASES_DIR OUT_DIR

OUT_DIR/matpower gets, for every case: consistent small cases (the first k buses, with the
generators and branches among them), the whole file when it is small, and byte windows cut at
arbitrary points (truncated files, tokens cut in half). OUT_DIR/csv gets `--load-scale` CSV files
and OUT_DIR/series `smooth --load` time series, made from the same cases' bus loads.
"""
import pathlib
import re
import sys

MAX_SEED = 8192  # bytes; scripts/fuzz.sh runs with -max_len of the same size

TABLE = re.compile(r"^mpc\.(\w+)\s*=\s*\[(.*?)\];", re.S | re.M)


def tables(text):
    """mpc.<name> = [ ... ]; blocks as lists of row strings (comments dropped)."""
    out = {}
    for name, body in TABLE.findall(text):
        rows = []
        for line in body.splitlines():
            line = line.split("%", 1)[0].strip().rstrip(";").strip()
            if line:
                rows.append(line)
        out[name] = rows
    return out


def header(text):
    """Everything before the first table: function line, version, baseMVA, comments."""
    m = TABLE.search(text)
    return text[: m.start()] if m else text


def small_case(text, k):
    t = tables(text)
    buses = t.get("bus", [])[:k]
    ids = {row.split()[0] for row in buses}
    gens = [r for r in t.get("gen", []) if r.split()[0] in ids]
    costs = [c for r, c in zip(t.get("gen", []), t.get("gencost", [])) if r.split()[0] in ids]
    branches = [r for r in t.get("branch", []) if set(r.split()[:2]) <= ids]
    parts = [header(text)]
    for name, rows in (("bus", buses), ("gen", gens), ("branch", branches), ("gencost", costs)):
        parts.append("mpc.%s = [\n%s\n];\n" % (name, "\n".join("\t%s;" % r for r in rows)))
    return "".join(parts)


def load_csv(text, k, extra):
    """A `--load-scale` file: one row per scenario, column `scale` (the case's total load over
    its first k bus loads, so each case gives different numbers), `extra` other columns."""
    loads = [float(r.split()[2]) for r in tables(text).get("bus", [])[:k] if len(r.split()) > 2]
    head = ",".join(["scenario", "scale"] + ["c%d" % c for c in range(extra)])
    rows = []
    for s, load in enumerate(loads):
        scale = 1.0 + (load % 37.0) / 100.0
        rows.append(",".join(["%d" % s, "%.6g" % scale] + ["%d" % c for c in range(extra)]))
    return head + "\n" + "\n".join(rows) + "\n"


def series_csv(text, k, scenarios):
    """A `smooth --load` file: time_s, then one load column per scenario (the first k bus loads
    of the case as time steps)."""
    loads = [float(r.split()[2]) for r in tables(text).get("bus", [])[:k] if len(r.split()) > 2]
    head = ",".join(["time_s"] + ["scenario_%d" % s for s in range(scenarios)])
    rows = [",".join(["%d" % t] + ["%.10g" % (load * (1 + 0.1 * s)) for s in range(scenarios)])
            for t, load in enumerate(loads)]
    return head + "\n" + "\n".join(rows) + "\n"


def main():
    cases_dir, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    mp, csv, series = out_dir / "matpower", out_dir / "csv", out_dir / "series"
    for d in (mp, csv, series):
        d.mkdir(parents=True, exist_ok=True)
    seeds = 0
    for path in sorted(cases_dir.glob("*.m")):
        text = path.read_text(errors="replace")
        stem = path.stem
        samples = {}
        for k in (1, 3, 8, 20):
            samples["%s_k%d" % (stem, k)] = small_case(text, k)
        if len(text) <= MAX_SEED:
            samples[stem] = text
        small = samples["%s_k8" % stem]
        for cut in range(1, len(small), max(1, len(small) // 6)):
            samples["%s_k8_cut%d" % (stem, cut)] = small[:cut]
        for start in (0, len(text) // 3, len(text) // 2):
            samples["%s_window%d" % (stem, start)] = text[start : start + 2048]
        for name, body in samples.items():
            data = body.encode()[:MAX_SEED]
            (mp / (name + ".m")).write_bytes(data)
            seeds += 1
        for k, extra in ((3, 0), (8, 2), (20, 1)):
            (csv / ("%s_k%d.csv" % (stem, k))).write_text(load_csv(text, k, extra))
            (series / ("%s_k%d.csv" % (stem, k))).write_text(series_csv(text, k, extra + 1))
            seeds += 2
    print("make_corpus: %d seeds in %s" % (seeds, out_dir))


if __name__ == "__main__":
    main()
