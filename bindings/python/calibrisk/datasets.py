# SPDX-License-Identifier: Apache-2.0
"""calibrisk.datasets (filled in by its issue)."""

__all__ = []
