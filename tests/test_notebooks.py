"""The quickstart notebook runs end to end (small switch on, as in CI); notebooks are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["quickstart.ipynb", "gpu_finetune.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
    import nbformat

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.real_model
def test_quickstart_runs_end_to_end(monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("INSABOT_QUICKSTART_SMALL", "1")
    notebook = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()  # raises CellExecutionError naming the cell that failed

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert printed.count("인싸봇>") == 4  # two prompts, base and fine-tuned
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2  # the loss curve and the eval chart
    tables = [
        output["data"]["text/markdown"] for output in outputs if "text/markdown" in output.get("data", {})
    ]
    assert tables and "tone_adherence" in tables[0]
