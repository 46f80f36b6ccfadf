# SPDX-License-Identifier: Apache-2.0
"""rows.csv of the format-1.8 golden file: the first 40 encounters of a generated cohort, the
model's feature columns in schema order (the categorical `site` as its text label), with the site
of the last row replaced by a label the model never saw ("Z")."""
import csv
import sys

FEATURES = ["site", "age", "sex", "length_of_stay", "prior_admissions", "prior_ed_visits",
            "n_diagnoses", "n_medications", "hba1c", "creatinine", "haemoglobin", "sodium",
            "discharge_disposition", "admission_type"]
with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))[:40]
rows[-1]["site"] = "Z"
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(FEATURES)
    for r in rows:
        w.writerow([r[c] for c in FEATURES])
