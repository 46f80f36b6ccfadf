# SPDX-License-Identifier: Apache-2.0
"""Times calibrisk against its peers (scikit-learn, LightGBM, XGBoost) on the same data in one
process and prints a table of times, ratios and quality figures; also writes it as JSON.

Each area lives in benchmarks/peers/<area>.py and exposes ``run(quick: bool) -> list[dict]``;
each row is ``{"area", "case", "library", "seconds", **extra}``. Ratios are computed against the
calibrisk row of the same case.

    .venv/bin/python benchmarks/compare.py [--quick] [--only linear,trees] [--json out.json]
"""

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def timed(fn, repeat=1):
    """Best wall time of ``repeat`` calls of fn(); returns (seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def print_table(rows):
    by_case = {}
    for r in rows:
        by_case.setdefault((r["area"], r["case"]), []).append(r)
    for (area, case), group in by_case.items():
        ours = next((r for r in group if r["library"] == "calibrisk"), None)
        print(f"\n## {area}: {case}")
        extra_keys = sorted({k for r in group for k in r} - {"area", "case", "library", "seconds"})
        header = ["library", "seconds", "calibrisk/peer"] + extra_keys
        print(" | ".join(header))
        for r in group:
            ratio = ""
            if ours is not None and r is not ours and r["seconds"] > 0:
                ratio = f"{ours['seconds'] / r['seconds']:.3f}"
                r["ratio_calibrisk_over_peer"] = ours["seconds"] / r["seconds"]
            cells = [r["library"], f"{r['seconds']:.4f}", ratio] + [_fmt(r.get(k, "")) for k in extra_keys]
            print(" | ".join(cells))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    ap.add_argument("--only", default="", help="comma-separated areas (default: all)")
    ap.add_argument("--json", default=os.path.join("build", "compare.json"), help="JSON output path")
    args = ap.parse_args(argv)

    import peers

    wanted = {a for a in args.only.split(",") if a}
    rows = []
    for info in pkgutil.iter_modules(peers.__path__):
        if wanted and info.name not in wanted:
            continue
        mod = importlib.import_module(f"peers.{info.name}")
        print(f"running {info.name} ...", flush=True)
        rows.extend(mod.run(args.quick))
    print_table(rows)
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
