"""Executes notebooks/explore.ipynb on the demo's outputs (nbclient, the
venv's python3 kernel) and fails on the first cell that raises. The executed
copy goes to the path given, not over the committed notebook.

Usage: python tests/run_notebook.py notebooks/explore.ipynb executed.ipynb
"""

import pathlib
import sys

import nbformat
from nbclient import NotebookClient


def main(src, dst):
    nb = nbformat.read(src, as_version=4)
    # Relative paths in the notebook are relative to its own folder, as in Jupyter.
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(pathlib.Path(src).resolve().parent)}})
    client.execute()
    nbformat.write(nb, dst)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    print(f"run_notebook: {src}: {cells} code cells ran without error (executed copy: {dst})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
