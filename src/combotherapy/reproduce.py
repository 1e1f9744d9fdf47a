"""``combotherapy reproduce``: run every notebook on the bundled data and fingerprint what it wrote.

Each notebook has a parameters cell (tagged ``parameters``, papermill-style); we execute a copy
with an injected cell that points it at the bundled data and the output folder, using nbclient
and a fresh kernel. The output folder gets ``MANIFEST.sha256`` (one line per file, sorted). With
``--check`` everything is regenerated into a temporary folder and compared with the committed
manifest; on drift, the installed package versions are compared with the lock file, since figure
bytes depend on library versions.

The executed copy of each notebook is written beside its outputs as ``<notebook>/<notebook>.html``
(:mod:`combotherapy.notebook_html`: prose, code, printed tables and inline figures, machine paths
replaced by repository-relative ones), so a reviewer can read every notebook without running it;
those pages are in the manifest like every other file.

Only the notebooks of the repository the package was installed from run (found from the package's own location,
never by searching the working directory: a folder someone else prepared does not get its notebooks executed),
or those of a folder named explicitly (``root=``, ``combotherapy reproduce --notebooks FOLDER``).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .files import MANIFEST, OutputError, check_output_folder, write_text

__all__ = ["repo_root", "reproduce", "check", "compare", "manifest", "NOTEBOOKS", "NotebookError", "OutputError"]

#: notebooks run by ``reproduce``, in order, with the dataset each reads (relative to the repository)
NOTEBOOKS = {
    "00_your_own_data.ipynb": "data/sample/three_arm.csv",
    "01_data_and_table1.ipynb": "data/sample/three_arm.csv",
    "02_primary_outcome_pain.ipynb": "data/sample/three_arm.csv",
    "03_every_claim.ipynb": "data/sample/three_arm.csv",
    "04_who_benefits_and_synergy.ipynb": "data/sample/factorial.csv",
    "05_vickers_headache_trial.ipynb": "{datasets}/vickers_acupuncture_headache/acupuncture.csv",
    "06_when_nobody_was_randomised.ipynb": "data/sample/registry.csv",
    "07_evidence_across_trials.ipynb": "{datasets}/netmeta_Linde2016/linde2016.csv",
    "08_what_the_dropouts_did.ipynb": "data/sample/three_arm.csv",
    "09_planning_the_next_trial.ipynb": "data/sample/three_arm.csv",
}
LOCK = "requirements-lock.txt"
COMMITTED = "results"


class NotebookError(RuntimeError):
    """A notebook failed while ``reproduce`` executed it; the message names the notebook, cell and error."""


def repo_root() -> Path:
    """The repository the package was installed from: ``src/combotherapy`` (this package) two levels down, with
    ``notebooks/`` and ``data/sample/`` beside ``src/``. The working directory is never searched."""
    package = Path(__file__).resolve().parent
    root = package.parents[1]
    if package.parent.name == "src" and (root / "notebooks").is_dir() and (root / "data" / "sample").is_dir():
        return root
    raise NotebookError(f"combotherapy is installed from {package}, not from a clone of its repository, so its "
                        "notebooks are not here. Clone the repository and install it with "
                        "`python3 -m pip install -e \".[notebooks]\"`, or name a repository folder: "
                        "`combotherapy reproduce --notebooks FOLDER`.")


def _progress(i: int, n: int, label: str, quiet: bool) -> None:
    if quiet:
        return
    width = 30
    done = int(width * i / n)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {label:<45}")
    sys.stderr.flush()
    if i == n:
        sys.stderr.write("\n")


def _kernel_manager(sockets: str):
    """A kernel that talks over local IPC sockets in the private folder ``sockets``, not over TCP: nothing listens
    on the network, and the kernel has no reason to warn about unencrypted TCP. TCP on Windows (no IPC there)."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name == "nt":
        return AsyncKernelManager(kernel_name="python3")
    return AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))


#: appended to the injected parameters cell (and left out of the HTML page): inline figures are PNGs without the
#: "Software" stamp, so the page's bytes do not name the matplotlib version
_SETUP = ("%config InlineBackend.figure_formats = ['png']\n"
          "%config InlineBackend.print_figure_kwargs = {'bbox_inches': 'tight', 'metadata': {'Software': None}}")


def _shut_down(km) -> None:
    """Stop the kernel: nbclient shuts down only kernels it started itself, and ours (given as ``km=``) would
    otherwise idle, holding its notebook's data, until ``reproduce`` exits (then warn that its parent exited)."""
    from jupyter_client.utils import run_sync

    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=False)
    run_sync(km.cleanup_resources)()


def run_notebook(path: Path, parameters: dict, timeout: int = 900):
    """Execute ``path`` in a fresh kernel with ``parameters`` injected after its parameters cell.

    The stored notebook is not modified; the executed copy is returned (an ``nbformat`` notebook) for
    :func:`combotherapy.notebook_html.render`. Figures and tables are the notebook's outputs, written by the
    library into the output folder.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    source = "\n".join([*(f"{k} = {v!r}" for k, v in parameters.items()), _SETUP])
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    idx = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    nb.cells.insert(idx + 1, injected)
    try:
        with tempfile.TemporaryDirectory(prefix="combotherapy-kernel-") as sockets:
            km = _kernel_manager(sockets)
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", km=km,
                                    resources={"metadata": {"path": str(path.parent)}})
            try:
                client.execute()
            finally:
                _shut_down(km)
    except CellExecutionError as e:
        cell = next((i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error"
                                                               for o in c.get("outputs", []))), None)
        where = f"cell {cell}" if cell is not None else "a cell"
        raise NotebookError(f"{path.name} failed in {where}: {e.ename}: {e.evalue}") from None
    return nb


def write_html(nb, target: Path, *, root: Path, out: Path) -> Path:
    """Render the executed notebook ``nb`` to ``target`` (see :mod:`combotherapy.notebook_html`).

    Paths of this machine are shown as the notebook's own defaults would name them, relative to ``notebooks/``:
    the output folder as ``../results`` and the repository as ``..``, so the page is the same whichever folder
    ``reproduce`` wrote to.
    """
    from .notebook_html import render

    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = cell["source"].replace(_SETUP, "").rstrip()
    paths = {}
    for machine, shown in ((out, f"../{COMMITTED}"), (root, "..")):
        for variant in {str(machine), machine.as_posix()}:
            paths[variant] = shown
    return write_text(target, render(nb, paths=paths))


def manifest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (except the manifest), by relative path."""
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != MANIFEST and not f.name.startswith("."):
            out[f.relative_to(folder).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _write_manifest(folder: Path) -> Path:
    lines = [f"{h}  {name}" for name, h in manifest(folder).items()]
    return write_text(folder / MANIFEST, "\n".join(lines) + "\n")


def _read_manifest(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            h, name = line.split(None, 1)
            out[name.strip()] = h
    return out


def data_path(template: str, root: Path) -> Path:
    """A notebook's dataset: a path in the repository, or a public dataset shipped in the package
    (``{datasets}``: :data:`combotherapy.datasets.HERE`)."""
    from .datasets import HERE, REPOSITORY_FOLDER

    path = (root / template.format(datasets=HERE)).resolve()
    if not path.exists():
        where = f" (in the repository: {REPOSITORY_FOLDER}/)" if "{datasets}" in template else ""
        raise NotebookError(f"the data file {path} is missing{where}; `combotherapy reproduce` needs a clone of "
                            "the repository (pip install -e), which holds every dataset the notebooks read")
    return path


def reproduce(out: Path | str | None = None, *, quiet: bool = False, root: Path | None = None,
              force: bool = False) -> Path:
    """Execute every notebook on the bundled data, writing into ``out``; return the manifest path.

    ``root`` is the repository whose ``notebooks/`` run (default: the one the package was installed from, see
    :func:`repo_root`); ``out`` defaults to its ``results/`` folder, wherever the command is started. ``out`` must be absent, empty or an earlier run's results folder (it holds
    ``MANIFEST.sha256``); another folder is refused unless ``force`` (and one holding the notebooks or their data
    always is).
    """
    root = Path(root).resolve() if root is not None else repo_root()
    if not (root / "notebooks").is_dir():
        raise NotebookError(f"{root} holds no notebooks/ folder: name a combotherapy repository folder")
    paths = {name: data_path(template, root) for name, template in NOTEBOOKS.items()}  # all there before any runs
    missing = [name for name in NOTEBOOKS if not (root / "notebooks" / name).is_file()]
    if missing:
        raise NotebookError(f"{root / 'notebooks'} lacks the notebook(s) {missing}")
    out = root / COMMITTED if out is None else out
    check_output_folder(out, inputs=[root / "notebooks", *paths.values()], force=force)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, (name, path) in enumerate(paths.items()):
        _progress(i, len(paths), name, quiet)
        stem = Path(name).stem
        executed = run_notebook(root / "notebooks" / name, {"data_path": str(path), "out_dir": str(out / stem)})
        if executed is not None:
            write_html(executed, out / stem / f"{stem}.html", root=root, out=out)
    _progress(len(paths), len(paths), f"done in {time.perf_counter() - start:.0f} s", quiet)
    return _write_manifest(out)


def lock_differences(root: Path) -> list[str]:
    """Installed versions that differ from the lock file, as readable lines."""
    lock = root / LOCK
    if not lock.exists():
        return [f"no {LOCK} in the repository"]
    diffs = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if not m:
            continue
        name, wanted = m.groups()
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        if have != wanted:
            diffs.append(f"{name}: installed {have}, lock file {wanted}")
    return diffs


def check(*, quiet: bool = False, root: Path | None = None) -> int:
    """Regenerate into a temporary folder and compare with the committed manifest; 0 if identical."""
    root = root or repo_root()
    if not (root / COMMITTED / MANIFEST).exists():
        print(f"no committed manifest at {root / COMMITTED / MANIFEST}; run `combotherapy reproduce` and commit "
              f"{COMMITTED}/")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="combotherapy-check-"))
    try:
        reproduce(tmp, quiet=quiet, root=root)
        return compare(tmp, root=root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compare(regenerated: Path, *, root: Path | None = None) -> int:
    """Compare a regenerated folder's manifest with the committed one; print the drift; 0 if identical."""
    root = root or repo_root()
    committed = root / COMMITTED / MANIFEST
    old, new = _read_manifest(committed), _read_manifest(Path(regenerated) / MANIFEST)
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    missing = sorted(old.keys() - new.keys())
    extra = sorted(new.keys() - old.keys())
    if not (changed or missing or extra):
        print(f"reproduced: all {len(old)} files match {COMMITTED}/{MANIFEST}")
        return 0
    print(f"drift from the committed results ({COMMITTED}/{MANIFEST}):")
    for label, names in (("changed", changed), ("not produced any more", missing), ("new", extra)):
        for n in names:
            print(f"  {label}: {n}")
    diffs = lock_differences(root)
    if diffs:
        print(f"installed versions that differ from {LOCK} (bytes of figures depend on them):")
        for d in diffs:
            print(f"  {d}")
        print(f"install the locked versions with: python3 -m pip install -r {LOCK}")
    else:
        print(f"installed versions match {LOCK}: the drift comes from the code or the data")
    return 1
