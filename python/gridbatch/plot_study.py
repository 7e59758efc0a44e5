#!/usr/bin/env python3
"""Plots of a data-centre study directory written by `gridbatch study --out DIR`.

usage: python3 plot_study.py DIR

Reads DIR/timeseries.csv, DIR/spectrum.csv and DIR/sizing.csv and writes DIR/load_vs_grid.png,
DIR/soc.png, DIR/poi_voltage.png, DIR/spectrum.png and DIR/sizing.png. Needs only numpy and
matplotlib.
"""
import csv
import os
import sys

import numpy as np


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        try:
            cols[name] = np.array([float(r[j]) for r in data])
        except ValueError:
            cols[name] = np.array([r[j] for r in data])
    return cols


STRATEGIES = [("none", "no battery", "tab:red"), ("filter", "causal filter", "tab:orange"),
              ("optimal", "optimal dispatch", "tab:blue"),
              ("ramp_aware", "ramp-aware dispatch", "tab:green")]


def main(out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = read_csv(os.path.join(out, "timeseries.csv"))
    first = ts["scenario"] == ts["scenario"].min()
    t = ts["time_s"][first]
    # Hours read better than seconds once the horizon passes a few hours (a day: 86,400 s).
    t_label = "time (s)"
    if len(t) and t.max() > 3 * 3600:
        t, t_label = t / 3600.0, "time (h)"
    written = []

    def save(fig, ax, name, xlabel, ylabel, title, legend_loc="best", grid_which="major"):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc=legend_loc, fontsize=8)
        ax.grid(alpha=0.3, which=grid_which)
        fig.tight_layout()
        fig.savefig(os.path.join(out, name), dpi=110)
        written.append(name)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(t, ts["campus_load_mw"][first], color="0.6", lw=0.6, label="campus load")
    for key, label, color in STRATEGIES:
        col = f"grid_{key}_mw"
        if col in ts and key != "none":
            ax.plot(t, ts[col][first], color=color, lw=1.0, label=f"grid draw, {label}")
    save(fig, ax, "load_vs_grid.png", t_label, "MW", "Campus load and grid draw (scenario 0)",
         legend_loc="lower right")

    fig, ax = plt.subplots(figsize=(10, 3.5))
    for key, label, color in STRATEGIES:
        col = f"soc_{key}_mwh"
        if col in ts:
            ax.plot(t, ts[col][first], color=color, lw=1.0, label=label)
    save(fig, ax, "soc.png", t_label, "state of charge (MWh)",
         "Battery fleet state of charge (scenario 0)")

    fig, ax = plt.subplots(figsize=(10, 3.5))
    for key, label, color in STRATEGIES:
        col = f"poi_vm_{key}"
        if col in ts:
            ax.plot(t, ts[col][first], color=color, lw=0.8, label=label)
    save(fig, ax, "poi_voltage.png", t_label, "POI voltage (p.u.)",
         "Voltage at the point of interconnection (scenario 0)")

    spec_path = os.path.join(out, "spectrum.csv")
    if os.path.exists(spec_path):
        sp = read_csv(spec_path)
        fig, ax = plt.subplots(figsize=(8, 4))
        for key, label, color in STRATEGIES:
            col = f"psd_{key}"
            if col in sp:
                ax.semilogy(sp["freq_hz"][1:], np.maximum(sp[col][1:], 1e-12), color=color,
                            lw=0.9, label=label)
        save(fig, ax, "spectrum.png", "frequency (Hz)", "power spectral density (MW²/Hz)",
             "Grid-draw spectrum (scenario 0)", grid_which="both")

    size_path = os.path.join(out, "sizing.csv")
    if os.path.exists(size_path):
        sz = read_csv(size_path)
        fig, ax = plt.subplots(figsize=(8, 4))
        for i, s in enumerate(np.unique(sz["scenario"])):
            m = sz["scenario"] == s
            color = f"C{i % 10}"
            ax.plot(sz["units"][m], sz["max_ramp_mw_per_min"][m], marker="o", ms=3, color=color,
                    label=f"scenario {int(s)}, optimal dispatch")
            if "ramp_aware_max_ramp_mw_per_min" in sz:
                ax.plot(sz["units"][m], sz["ramp_aware_max_ramp_mw_per_min"][m], marker="s",
                        ms=3, ls="--", color=color, label=f"scenario {int(s)}, ramp-aware")
        if "ramp_limit_mw_per_min" in sz:
            ax.axhline(sz["ramp_limit_mw_per_min"][0], color="k", ls="--", lw=1,
                       label="ramp limit")
        save(fig, ax, "sizing.png", "fleet size (battery units)", "max grid-draw ramp (MW/min)",
             "Sizing sweep")
    print("plots: " + ", ".join(os.path.join(out, w) for w in written))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1])
