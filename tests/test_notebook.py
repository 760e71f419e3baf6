"""The walkthrough notebook, executed top to bottom the way Jupyter would run it."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import ROOT, clone_project

NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


def execute(project: Path) -> nbformat.NotebookNode:
    """Run the project's copy of the notebook from its own folder; raises on the first error."""
    notebook = nbformat.read(project / "notebooks" / NOTEBOOK.name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute()
    return notebook


def test_the_notebook_is_stored_without_outputs():
    code = [
        cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code"
    ]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.e2e
def test_the_notebook_runs_on_the_processed_data_and_draws_its_figures(prepared_project):
    notebook = execute(prepared_project)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 4
    text = "".join(output.get("text", "") for output in outputs)
    assert "second backward without zero_grad doubles the gradient: True" in text


@pytest.mark.e2e
def test_without_the_data_it_says_what_to_run_first(tmp_path):
    project = clone_project(tmp_path / "p")
    with pytest.raises(CellExecutionError) as error:
        execute(project)
    assert "FileNotFoundError" in str(error.value)
    assert "run `dvc repro preprocess` (or `dvc pull`) first" in str(error.value)


def test_make_notebook_opens_it_in_the_pinned_jupyterlab_with_this_venv_s_kernel():
    bin_dir = Path(sys.executable).parent
    version = subprocess.run([bin_dir / "jupyter", "lab", "--version"], capture_output=True)
    pinned = (ROOT / "requirements-test.in").read_text()
    assert f"jupyterlab=={version.stdout.decode().strip()}\n" in pinned
    kernels = subprocess.run([bin_dir / "jupyter", "kernelspec", "list"], capture_output=True)
    assert str(bin_dir.parent) in kernels.stdout.decode()  # python3: this environment's python
    dry = subprocess.run(  # under `make test` too, where make would name the folders it enters
        ["make", "--dry-run", "--no-print-directory", "notebook"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert dry.stdout.splitlines()[-2:] == [
        "dvc repro preprocess",
        "jupyter lab notebooks/walkthrough.ipynb",
    ], dry.stdout
