# SPDX-License-Identifier: Apache-2.0
"""Model cards: one page for compliance teams, clinicians and product owners (see docs/card.md).

``model_card(pipeline_or_path, report=..., spec=..., validation=..., format="html"|"md")`` returns
the card's text; the C++ library builds and renders it, so it is the page ``calibrisk card``
writes.
"""

import json as _json
import os
from collections.abc import Mapping

from . import _core

__all__ = ["model_card"]


def _read(path):
    # Bytes: the C++ side reports invalid UTF-8 by field, as for the CLI's files.
    with open(path, "rb") as f:
        return f.read()


def _json_arg(name, value):
    """A JSON argument given as a path, a mapping / list (dumped) or an object with to_json()."""
    if value is None:
        return ""
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            from .exceptions import InvalidInputError

            raise InvalidInputError(f"model_card: {name} {str(value)[:100]!r} is not a file; pass "
                                    "a path to a JSON file, a dict, or None.")
        return _read(value)
    if hasattr(value, "to_json") and not isinstance(value, Mapping):
        return value.to_json()
    if isinstance(value, Mapping) and hasattr(value, "to_dict"):  # calibrisk.report.Report
        return _json.dumps(value.to_dict())
    if isinstance(value, (Mapping, list)):
        return _json.dumps(dict(value) if isinstance(value, Mapping) else value)
    raise TypeError(f"model_card: {name} must be a path, a dict or None, got "
                    f"{type(value).__name__}.")


def model_card(pipeline_or_path, *, report=None, spec=None, validation=None, format="html"):
    """The model card of a pipeline as HTML (one self-contained page) or Markdown.

    Parameters
    ----------
    pipeline_or_path : calibrisk.Pipeline or path of a model file (``calibrisk train --out``).
        From a file, the card shows its checksum and signature status.
    report : calibrisk.report.Report or MulticlassReport, dict or path of a report JSON, optional
        The evaluation on held-out data (``calibrisk train --json`` / ``evaluate --json`` /
        ``evaluate(...)`` / ``evaluate_multiclass(...)``). A K-class pipeline takes a
        ``MulticlassReport`` (its card shows the per-class table, top-label calibration and the
        review queue per 1,000 items). Without it the card says which sections need one.
    spec : dict or path of a JSON card spec, optional
        Intended use, population, owners, limitations ... (docs/card.md lists the fields; an
        unknown field raises InvalidInputError naming it).
    validation : dict, list or path of a rolling-origin validation JSON, optional
    format : "html" or "md"

    Returns
    -------
    str
    """
    from .pipeline import Pipeline

    fmt = {"html": "html", "md": "md", "markdown": "md"}.get(format, format)
    if isinstance(pipeline_or_path, Pipeline):
        text, source = pipeline_or_path.to_string(), ""
    elif isinstance(pipeline_or_path, (str, os.PathLike)):
        text, source = _read(pipeline_or_path), os.fspath(pipeline_or_path)
    else:
        raise TypeError("model_card: pass a calibrisk.Pipeline or the path of a model file, got "
                        f"{type(pipeline_or_path).__name__}.")
    return _core._model_card(text, source, _json_arg("report", report), _json_arg("spec", spec),
                             _json_arg("validation", validation), fmt)
