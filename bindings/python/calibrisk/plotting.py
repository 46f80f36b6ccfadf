# SPDX-License-Identifier: Apache-2.0
"""calibrisk.plotting (filled in by its issue)."""

__all__ = []
