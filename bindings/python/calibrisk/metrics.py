# SPDX-License-Identifier: Apache-2.0
"""calibrisk.metrics (filled in by its issue)."""

__all__ = []
