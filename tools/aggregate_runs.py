#!/usr/bin/env python3
"""Aggregates the results.json of several `pgenrm train` runs (training seeds).

usage: tools/aggregate_runs.py runs/seed1234/results.json runs/seed1235/results.json ...

Prints a Markdown table: per row the mean accuracy over the runs, its spread
(min–max), the mean of the runs' standard errors, and the paired difference
against the non-personalised Bradley–Terry baseline (each run's paired
difference, then their mean with SE = sqrt(Σ se_i²)/k, the runs taken as
independent). Only the standard library is used.
"""
import json
import math
import sys


def main(paths):
    runs = [json.load(open(p))["rows"] for p in paths]
    names = [r["row"] for r in runs[0] if "accuracy" in r]
    k = len(runs)
    print(f"| row | accuracy (mean of {k} runs) | min–max | mean SE | Δ vs BT non-pers. (SE) | per run Δ | "
          "history sens. | weight err. pp | score err. |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        rows = [next((r for r in run if r.get("row") == name), None) for run in runs]
        if any(r is None for r in rows):
            continue
        acc = [r["accuracy"] for r in rows]
        se = [r["se"] for r in rows]
        diff = ""
        per = ""
        if all("diff" in r.get("vs_bt_non_personalised", {}) for r in rows):
            d = [r["vs_bt_non_personalised"]["diff"] for r in rows]
            s = [r["vs_bt_non_personalised"]["se"] for r in rows]
            m = sum(d) / k
            pooled = math.sqrt(sum(x * x for x in s)) / k
            diff = f"{m:+.3f} ({pooled:.3f})"
            per = " / ".join(f"{x:+.3f}" for x in d)

        def mean_of(key):
            v = [r.get(key) for r in rows]
            if any(x is None for x in v):
                return ""
            return f"{sum(v) / k:.3f}"

        print(f"| {name} | {sum(acc) / k:.3f} | {min(acc):.3f}–{max(acc):.3f} | {sum(se) / k:.3f} | {diff} | {per} | "
              f"{mean_of('history_sensitivity')} | {mean_of('weight_error_pp')} | {mean_of('score_error')} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
