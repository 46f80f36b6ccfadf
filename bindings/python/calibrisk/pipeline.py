# SPDX-License-Identifier: Apache-2.0
"""calibrisk.pipeline (filled in by its issue)."""

__all__ = []
