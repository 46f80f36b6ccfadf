# SPDX-License-Identifier: Apache-2.0
"""calibrisk.threshold (filled in by its issue)."""

__all__ = []
