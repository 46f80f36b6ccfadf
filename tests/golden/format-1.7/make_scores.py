# SPDX-License-Identifier: Apache-2.0
"""The stored scores of the format-1.7 golden file: `calibrisk predict`'s p_<class> columns copied
as text (no re-formatting, so the bits are kept) and the route as review = 1 / auto = 0."""
import csv
import sys

with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))
cols = [c for c in rows[0] if c.startswith("p_")]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(cols + ["review"])
    for r in rows:
        w.writerow([r[c] for c in cols] + ["1" if r["route"] == "review" else "0"])
