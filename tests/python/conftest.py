# SPDX-License-Identifier: Apache-2.0
"""Shared pytest configuration.

scikit-learn's estimator checks skip `check_array_api_input` unless SciPy's array-API support is
switched on before SciPy is first imported; switching it on here makes that check run (and pass)
instead of being skipped silently.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
