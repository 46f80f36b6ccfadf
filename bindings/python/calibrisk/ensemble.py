# SPDX-License-Identifier: Apache-2.0
"""calibrisk.ensemble (filled in by its issue)."""

__all__ = []
