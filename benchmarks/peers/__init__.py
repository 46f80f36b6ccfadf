# SPDX-License-Identifier: Apache-2.0
"""One module per benchmarked area; each exposes run(quick) -> list of rows."""
