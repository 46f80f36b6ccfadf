# SPDX-License-Identifier: Apache-2.0
"""Executes examples/notebooks/readmission.ipynb top to bottom and fails on any error.

The notebook runs in a Jupyter kernel named ``python3`` started with this interpreter
(jupyter_client replaces the kernelspec's ``python`` by ``sys.executable``; the test checks it),
so it sees the same ``calibrisk`` as the tests. The kernelspec comes from ipykernel; if it is
missing, run ``python -m ipykernel install --sys-prefix`` in the environment.
"""

import os
import pathlib
import sys

import ipykernel  # noqa: F401  (the kernel the notebook runs in; from the dev extra)
import nbclient
import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "readmission.ipynb"


def test_readmission_notebook_executes_without_errors(tmp_path, monkeypatch):
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel as e:  # a setup problem, reported as a failure with the fix
        raise AssertionError(
            "no Jupyter kernel named python3; run `python -m ipykernel install --sys-prefix`"
        ) from e
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The kernel inherits the environment: make the package the tests import importable there too.
    paths = [os.path.abspath(p) for p in sys.path if p and (pathlib.Path(p) / "calibrisk").is_dir()]
    if paths:
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    check = nbformat.v4.new_code_cell("import sys, calibrisk; print(sys.executable); print(calibrisk.__file__)")
    nb.cells.append(check)

    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error

    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    kernel_python, kernel_pkg = out.split()[:2]
    assert os.path.realpath(kernel_python) == os.path.realpath(sys.executable)
    import calibrisk

    assert os.path.realpath(kernel_pkg) == os.path.realpath(calibrisk.__file__)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # No cell wrote into the repository (outputs go to temporary directories).
    assert not list(NOTEBOOK.parent.glob("*.calibrisk.json"))


ROUTING = NOTEBOOK.parent / "document_routing.ipynb"


def test_document_routing_notebook_executes_without_errors(tmp_path, monkeypatch):
    import calibrisk

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel as e:
        raise AssertionError(
            "no Jupyter kernel named python3; run `python -m ipykernel install --sys-prefix`"
        ) from e
    monkeypatch.setenv("MPLBACKEND", "Agg")
    paths = [os.path.abspath(p) for p in sys.path
             if p and (pathlib.Path(p) / "calibrisk").is_dir()]
    if paths:
        pythonpath = os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")])
        monkeypatch.setenv("PYTHONPATH", pythonpath)
    nb = nbformat.read(ROUTING, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    nb.cells.append(nbformat.v4.new_code_cell(
        "print(calibrisk.__file__); print(np.mean(correct[auto]), 1 - auto.mean())"))
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    pkg, accuracy, review = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()[:3]
    assert os.path.realpath(pkg) == os.path.realpath(calibrisk.__file__)
    # The routed test documents meet the floor up to sampling noise (1,000 test documents), and
    # the queue is a minority of the documents but not empty (docs/datasets.md, "Documents").
    assert float(accuracy) >= 0.96
    assert 0.05 <= float(review) <= 0.5
