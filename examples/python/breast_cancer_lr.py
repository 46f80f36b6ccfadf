# SPDX-License-Identifier: Apache-2.0
"""Interim demo (replaced by `calibrisk demo` when the command-line tool lands)."""
import calibrisk

print("calibrisk", calibrisk.__version__, "installed; the logistic-regression demo lands with issue 2.")
