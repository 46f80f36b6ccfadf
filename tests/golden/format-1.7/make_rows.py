# SPDX-License-Identifier: Apache-2.0
"""rows.csv of the format-1.7 golden file: 40 claims (every 50th row of the generated table), the
model's feature columns in schema order (the categorical `payer` and `place_of_service` as text),
with the payer of the last row replaced by a label the model never saw ("NEW_PAYER")."""
import csv
import sys

FEATURES = ["member_age", "billed_amount", "units", "prior_authorization", "days_to_submission",
            "same_service_claims", "payer", "place_of_service"]
with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))[::50][:40]
rows[-1]["payer"] = "NEW_PAYER"
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(FEATURES)
    for r in rows:
        w.writerow([r[c] for c in FEATURES])
