"""Compose a report from a trace with every registered reporter, and write it in a format.

trace ─▶ Report ─▶ each section reporter adds its sections (by ``order``) ─▶ a format
         reporter writes the file (chosen by ``fmt`` or the output's extension)
"""

from __future__ import annotations

import contextvars
import functools
from pathlib import Path

from pydantic import ValidationError

from engine import files
from engine.components import Reporter
from engine.errors import TracegradError
from engine.i18n import _
from engine.plugins import Registry, load_registry
from engine.report.document import Notice, Report
from engine.trace.reader import Trace, find_trace, read_trace


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    """The registry of the built-in and installed plugins, loaded once."""
    return load_registry()


#: The registry of the report being composed (with its ``--plugin``s), for the parts that
#: look a component up by name (an optimizer's update rule, an activation's derivative).
_composing: contextvars.ContextVar[Registry | None] = contextvars.ContextVar(
    "composing", default=None
)


def active_registry() -> Registry:
    """The registry of the report being composed, else that of the installed plugins."""
    return _composing.get() or registry()


def _registry_for(plugins) -> Registry:
    return load_registry(list(plugins)) if plugins else registry()


def reporters(reg: Registry, options: dict | None = None) -> list[Reporter]:
    """Every registered reporter, instantiated with its options (name -> config fields)."""
    options = dict(options or {})
    created = []
    for name in reg.names("reporters"):
        component = reg.get("reporters", name)
        try:
            config = component.config(**options.pop(name, {}))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise TracegradError(
                _("bad options for reporter '{name}': {problems}").format(
                    name=name, problems=problems
                )
            ) from None
        created.append(component.create(config))
    if options:
        raise TracegradError(
            _("no reporter named '{next}'").format(next=next(iter(options))),
            hint=_("reporters: {names}").format(names=", ".join(reg.names("reporters"))),
        )
    return created


def load(source: str | Path | Trace) -> tuple[Trace, Path | None]:
    """The trace and its run folder (None when the trace file stands alone)."""
    trace = source if isinstance(source, Trace) else read_trace(find_trace(source))
    folder = Path(trace.path).parent
    is_run = any((folder / name).exists() for name in ("scenario.yaml", "params.npz"))
    return trace, folder if is_run else None


def compose(
    source: str | Path | Trace,
    *,
    options: dict | None = None,
    plugins=(),
    reg: Registry | None = None,
) -> Report:
    """Read the trace and let every section reporter add its sections."""
    trace, run_dir = load(source)
    reg = reg or _registry_for(plugins)
    report = Report(trace, run_dir)
    scenario = report.scenario
    name = scenario.get("name", Path(trace.path).stem)
    report.title = _("Tracegrad report: {name}").format(name=name)
    report.notices.extend(status_notices(trace))
    token = _composing.set(reg)
    try:
        _add_sections(report, reporters(reg, options))
    finally:
        _composing.reset(token)
    return report


def _add_sections(report: Report, created: list[Reporter]) -> None:
    for reporter in sorted(created, key=lambda r: r.order):
        if reporter.kinds and report.kind not in reporter.kinds:
            continue
        try:
            report.sections.extend(reporter.sections(report))
        except Exception as error:  # noqa: BLE001 - one broken section must not cost the report
            report.notices.append(
                Notice(
                    "warning",
                    _(
                        "The section of reporter '{type}' could not be made ({name}: {error}); "
                        "the rest of the report is complete."
                    ).format(type=reporter.config.type, name=type(error).__name__, error=error),
                )
            )


def status_notices(trace: Trace) -> list[Notice]:
    """What the reader must know first: a run that did not complete, a damaged trace."""
    notices = []
    end = trace.end
    total = ((trace.header.get("scenario") or {}).get("train") or {}).get("steps")
    of_total = f" of {total}" if total else ""
    if end is None:
        done = len(trace.scalars.get("step", []))
        notices.append(
            Notice(
                "error",
                _(
                    "This run did not finish: the trace has no end record (the process was killed "
                    "or is still running). It holds {done}{of_total} steps; everything below "
                    "covers those."
                ).format(done=done, of_total=of_total),
            )
        )
    elif end.get("status") != "completed":
        message = f": {end['message']}" if end.get("message") else "."
        notices.append(
            Notice(
                "error",
                _(
                    "This run did not complete: status '{status}' after "
                    "{steps_completed}{of_total} steps{message}"
                ).format(
                    status=end.get("status"),
                    steps_completed=end.get("steps_completed", "?"),
                    of_total=of_total,
                    message=message,
                ),
            )
        )
    notices.extend(Notice("warning", warning) for warning in trace.warnings if end is not None)
    return notices


def format_reporter(reg: Registry, output: Path | None, fmt: str | None) -> Reporter:
    """The format reporter for ``fmt`` (a name or an extension), else for ``output``'s suffix."""
    formats = [r for r in reporters(reg) if r.extensions]
    wanted = (fmt or "").lower().lstrip(".")
    for reporter in formats:
        names = {reporter.config.type, *(e.lstrip(".") for e in reporter.extensions)}
        if wanted and wanted in names:
            return reporter
        if not wanted and output is not None and output.suffix.lower() in reporter.extensions:
            return reporter
    known = ", ".join(sorted({e for r in formats for e in r.extensions}))
    if wanted:
        raise TracegradError(
            _("unknown report format '{fmt}'").format(fmt=fmt),
            hint=_("formats: {known}").format(known=known),
        )
    if output is not None and output.suffix:
        raise TracegradError(
            _("cannot tell the report format from '{name}'").format(name=output.name),
            hint=_("use one of the extensions {known}, or --format").format(known=known),
        )
    return next(r for r in formats if ".html" in r.extensions)


def write_report(
    source: str | Path | Trace,
    output: str | Path | None = None,
    fmt: str | None = None,
    *,
    options: dict | None = None,
    plugins=(),
) -> Path:
    """Write the report of a trace (or run folder) and return its path.

    ``output`` defaults to ``report.html`` in the run folder (beside the trace); ``fmt``
    ("html", "markdown"/"md", or another registered format) defaults to the output's
    extension. ``options`` configure reporters, e.g. ``{"walkthrough": {"max_steps": 3}}``.
    """
    reg = _registry_for(plugins)
    output = Path(output) if output is not None else None
    writer = format_reporter(reg, output, fmt)
    report = compose(source, options=options, plugins=plugins, reg=reg)
    if output is None:
        output = Path(report.trace.path).parent / f"report{writer.extensions[0]}"
    if output.is_dir():
        raise TracegradError(
            _("{output} is a folder").format(output=output), hint=_("give the report's file name")
        )
    files.target(output)  # refuses a FIFO or a device before any work
    try:
        writer.write(report, output)
    except OSError as error:
        raise TracegradError(
            _("cannot write {output}: {value}").format(output=output, value=error.strerror or error)
        ) from None
    return output


def save(path: str | Path, text: str) -> Path:
    """Write a report file whole (``engine.files.write_atomic``: a temporary file renamed
    into place, a link written through, a FIFO or device refused), readable like any file
    the user creates (the umask decides), since a report is made to be shared."""
    return files.write_atomic(path, text)
