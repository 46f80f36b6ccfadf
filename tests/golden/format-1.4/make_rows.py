# SPDX-License-Identifier: Apache-2.0
"""Writes the training table and the scoring rows of the format-1.4 golden file (README.md):
ICD-like diagnosis codes (Zipf-like counts, a prefix hierarchy, rare codes) and a site column with
hostile labels. Standard library only, so the files are reproducible without numpy."""
import csv
import math
import random
import sys

CODES = ["250.01", "250.02", "250.03", "250.1", "250.9", "401.1", "401.9", "428.0", "428.1",
         "V10.3", "E11.65"]
RISK = {"250": 0.6, "401": -0.2, "428": 0.9, "V10": -0.5, "E11": 0.3}
SITES = ["North", "<b>South</b>", 'Clinic "A"', "Z\u00fcrich, Ost"]


def rows(n, seed, extra_codes=()):
    rng = random.Random(seed)
    weights = [1.0 / (k + 1) ** 1.2 for k in range(len(CODES))]
    codes = CODES + list(extra_codes)
    weights += [0.3] * len(extra_codes)
    out = []
    for _ in range(n):
        age = round(rng.gauss(65, 12), 1)
        dx = rng.choices(codes, weights)[0] if rng.random() > 0.05 else ""
        site = rng.choice(SITES)
        z = -1.0 + 0.03 * (age - 65) + RISK.get(dx.split(".")[0], 0.0)
        y = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
        out.append([age, dx, site, y])
    return out


def write(path, data, label=True):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["age", "dx", "site", "y"] if label else ["age", "dx", "site"])
        for r in data:
            w.writerow(r if label else r[:3])


if __name__ == "__main__":
    out = sys.argv[1]
    write(f"{out}/cohort.csv", rows(2000, 1))
    # Scoring rows: also codes never seen in training (250.07 backs off to 250; 493.1 is missing).
    write(f"{out}/rows.csv", rows(60, 2, extra_codes=("250.07", "493.1", "428.9")), label=False)
