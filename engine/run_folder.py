"""The run folder, set up so that a run never destroys anything.

``prepare`` decides where a run writes (``runs/<name>-<time>/``, ``--run-dir`` or beside
``--trace``) and refuses, before anything is written:

- a folder another run is writing (the trace is locked while a run writes it);
- an earlier run's files (``trace.jsonl``, ``scenario.yaml``, ``params.npz``), unless
  overwriting is allowed (``--overwrite``, ``engine.run(..., overwrite=True)``);
- the scenario file being run, always: the resolved scenario or a trace never replaces it.

The scenario's ``name`` becomes part of a folder name only through ``folder_name``, so it
cannot climb out of ``runs/``, name an absolute path or hold a newline.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import time
from pathlib import Path

from engine import files
from engine.files import FileWriteError
from engine.i18n import _

#: The files a run writes into its folder (the trace may be elsewhere, with --trace).
RUN_FILES = ("trace.jsonl", "scenario.yaml", "params.npz")

_overwrite = contextvars.ContextVar("tracegrad_overwrite", default=False)


@contextlib.contextmanager
def overwriting(allowed: bool):
    """Within the block, runs may replace the files of an earlier run."""
    token = _overwrite.set(bool(allowed))
    try:
        yield
    finally:
        _overwrite.reset(token)


def folder_name(name: str) -> str:
    """``name`` as one safe path component: letters, digits, '.', '_' and '-' only."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._-")
    return safe[:80] or "run"


def new_run_dir(name: str, root: Path = Path("runs")) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{folder_name(name)}-{stamp}"
    suffix = 2
    while candidate.exists():
        candidate = root / f"{folder_name(name)}-{stamp}-{suffix}"
        suffix += 1
    return candidate


def portable_yaml(scenario, folder: Path) -> str:
    """The resolved scenario for the run folder, with the paths the scenario gave relative to
    its own file (a CSV, a plugin file) made relative to ``folder``, so it runs from there."""
    from engine import yaml_source

    data = scenario.resolved()
    base = Path(scenario.base_dir)

    def rebased(value):
        if not isinstance(value, str) or Path(value).is_absolute():
            return value
        return os.path.relpath((base / value).resolve(), Path(folder).resolve())

    section, config = data.get("data"), type(getattr(scenario.spec, "data", None))
    for name in getattr(config, "relative_paths", ()):
        if isinstance(section, dict) and name in section:
            section[name] = rebased(section[name])
    if data.get("plugins"):
        data["plugins"] = [
            rebased(p) if p.endswith(".py") or "/" in p else p for p in data["plugins"]
        ]
    return yaml_source.dump(data)


def _same_file(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return a.exists() and a.samefile(b)
    except OSError:
        return False


def prepare(scenario, trace, run_dir) -> tuple[Path | None, Path | None]:
    """(run folder, trace path) for ``engine.run``'s ``trace``/``run_dir`` arguments.

    The folder is created with the resolved scenario in it, and the trace opened and locked
    (``files.claimed`` hands it to the trace writer). (None, None) when ``trace`` is False.
    """
    if trace is False:
        return None, None
    if trace is None or trace is True:
        folder = Path(run_dir) if run_dir else new_run_dir(scenario.spec.name)
        trace_path = folder / "trace.jsonl"
    else:
        trace_path = Path(trace)
        folder = Path(run_dir) if run_dir else trace_path.parent
        if trace_path.is_dir():
            raise FileWriteError(
                _("--trace {trace_path} is a folder").format(trace_path=trace_path),
                hint=_("give a file name, e.g. trace.jsonl"),
            )
    outputs = [trace_path, folder / "scenario.yaml", folder / "params.npz"]
    for path in outputs:
        if _same_file(path, scenario.path):
            raise FileWriteError(
                _("this run would overwrite the scenario it runs, {path}").format(
                    path=scenario.path
                ),
                hint=_("write the run somewhere else: --run-dir DIR or --trace PATH"),
            )
    if folder.exists() and not folder.is_dir():
        raise FileWriteError(
            _("the run folder {folder} is a file").format(folder=folder),
            hint=_("give a folder's path"),
        )
    files.make_folder(folder)
    existed = trace_path.exists()
    stream = files.open_locked(trace_path, "run's trace")
    earlier = [path for path in outputs if path.exists() and (path != trace_path or existed)]
    if earlier and not _overwrite.get():
        stream.close()
        if not existed:
            trace_path.unlink(missing_ok=True)
        raise FileWriteError(
            _(
                "{earlier} already exists (from an earlier run?); this run would overwrite it"
            ).format(earlier=earlier[0]),
            hint=_("give a new --run-dir (or --trace), or add --overwrite to replace it"),
        )
    try:
        stream.truncate(0)
        files.write_atomic(folder / "scenario.yaml", portable_yaml(scenario, folder))
    except BaseException:
        stream.close()
        raise
    files.claim(trace_path, stream)
    return folder, trace_path
