# SPDX-License-Identifier: Apache-2.0
"""rows.csv of the format-1.6 golden file: 40 claims (every 50th row of the generated table, so
some prior_authorization values are missing), the six feature columns in schema order."""
import csv
import sys

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization", "days_to_submission",
            "same_service_claims"]
with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))[::50][:40]
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(FEATURES)
    for r in rows:
        w.writerow([r[c] for c in FEATURES])
