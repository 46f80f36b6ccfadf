# SPDX-License-Identifier: Apache-2.0
"""calibrisk.calibration (filled in by its issue)."""

__all__ = []
