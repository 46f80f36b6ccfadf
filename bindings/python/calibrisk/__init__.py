# SPDX-License-Identifier: Apache-2.0
"""calibrisk: calibrated supervised learning for clinical risk models.

Logistic regression and histogram gradient-boosted trees with class weighting, Platt, isotonic,
beta and Venn-ABERS calibration, threshold selection under clinical policies, evaluation reports
and a versioned deployable artifact, all backed by a C++17 core.
"""

from . import _core
from .exceptions import (
    CalibriskError,
    CalibriskInternalError,
    InvalidInputError,
    InvalidParamsError,
    ModelFormatError,
    NotFittedError,
)

__version__ = _core.__version__

# Each submodule lists its public names in __all__; they are re-exported here.
from .linear import *  # noqa: E402,F401,F403
from .ensemble import *  # noqa: E402,F401,F403
from .calibration import *  # noqa: E402,F401,F403
from .threshold import *  # noqa: E402,F401,F403
from .pipeline import *  # noqa: E402,F401,F403
from .plotting import *  # noqa: E402,F401,F403
from .report import *  # noqa: E402,F401,F403
from .workflow import *  # noqa: E402,F401,F403
from .card import *  # noqa: E402,F401,F403
from . import datasets, metrics, split  # noqa: E402,F401
from . import preprocessing  # noqa: E402,F401
