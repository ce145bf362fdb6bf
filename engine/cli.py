"""The command line, kept thin: parse arguments, call the API, print.

    tracegrad run FILE [--set key=value] [--plugin P] [--trace PATH | --run-dir DIR]
                  [--overwrite] [--limit NAME=VALUE] [--print-config] [--quiet]
    tracegrad validate FILE            check a scenario without running it
    tracegrad schema                   JSON Schema of the scenario format
    tracegrad plugins [--kind KIND]    every registered component and its options
    tracegrad gradcheck FILE           analytic vs finite-difference gradients
    tracegrad verify TRACE             re-derive every traced number from the trace alone
    tracegrad sweep FILE [--executor E] [-o OUT_DIR]   a grid of runs over seeds, tabulated
    tracegrad report TRACE [-o report.html|report.md]    what happened, step by step, with plots
    tracegrad show TRACE [--step N] [--layer NAME]       one traced step in the terminal

A TracegradError prints as ``where: error: message`` plus a hint, exit status 2, no traceback
(``--debug`` shows it). Each subcommand is a function ``cmd_<name>(args) -> int`` registered in
``COMMANDS`` with the function that adds its arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import sys

import engine
from engine.errors import TracegradError
from engine.i18n import N_, _


def _plugin_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="PATH_OR_MODULE",
        help=help_text,
    )


def _scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help=_("scenario YAML file"))
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=_("override a field, e.g. --set train.steps=10 (value parsed as YAML; repeatable)"),
    )
    _plugin_argument(parser, _("load a plugin module or .py file (repeatable)"))
    parser.add_argument(
        "--no-plugins-from-scenario",
        action="store_true",
        help=_("refuse to run plugin code listed in the scenario's plugins:"),
    )
    parser.add_argument(
        "--limit",
        dest="limits",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=_(
            "raise a safety limit: parameters, batch_size, steps, trace_bytes, samples, "
            "scenario_bytes, data_bytes (repeatable)"
        ),
    )


def _load(args):
    return engine.load_scenario(
        args.file,
        args.overrides,
        plugins=args.plugins,
        allow_scenario_plugins=not args.no_plugins_from_scenario,
    )


def _limits(args):
    from engine.limits import Limits

    return Limits.from_settings(args.limits)


# --- run ---------------------------------------------------------------------------------------


def _args_run(parser):
    _scenario_arguments(parser)
    parser.add_argument(
        "--trace",
        metavar="PATH",
        help=_("write the trace here instead of runs/<name>-<time>/trace.jsonl"),
    )
    parser.add_argument(
        "--run-dir", metavar="DIR", help=_("the run folder (default: a new runs/<name>-<time>/)")
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=_("replace the files of an earlier run in the run folder (refused otherwise)"),
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help=_("print the resolved scenario (defaults filled in) and exit"),
    )
    parser.add_argument("--quiet", "-q", action="store_true", help=_("print only the summary"))
    parser.add_argument(
        "--report",
        action="store_true",
        help=_("also write report.html (what happened, step by step) into the run folder"),
    )


def cmd_run(args) -> int:
    scenario = _load(args)
    if args.print_config:
        print(scenario.resolved_yaml(), end="")
        return 0
    from engine.progress import ProgressBar

    bar = ProgressBar(scenario.spec.name, enabled=not args.quiet and sys.stderr.isatty())
    # Ctrl-C and SIGTERM end the run between two steps (engine.interrupt): status interrupted
    result = engine.run(
        scenario,
        trace=args.trace,
        run_dir=args.run_dir,
        progress=bar,
        limits=_limits(args),
        overwrite=args.overwrite,
    )
    bar.close()
    print(result.summary())
    if args.report:
        print(_("report: {path}").format(path=result.report()))
    return {"completed": 0, "interrupted": 130}.get(result.status, 1)


class _Terminated(KeyboardInterrupt):
    """SIGTERM during a sweep, handled like Ctrl-C: the sweep stops and can be resumed."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises _Terminated and Ctrl-C KeyboardInterrupt while a sweep runs, even in a
    process started with SIGINT ignored (a script's background job, where Python installs
    no Ctrl-C handler): a run stops on either one (engine.interrupt), so a sweep does too."""

    def handler(signum, frame):
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        previous = previous_int = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)


# --- validate, schema, plugins -----------------------------------------------------------------


def _args_validate(parser):
    _scenario_arguments(parser)


def cmd_validate(args) -> int:
    scenario = _load(args)
    # what only building shows: shapes, data, limits
    built = scenario.kind.build(scenario, _limits(args))
    print(_("{file}: valid ({description})").format(file=args.file, description=built.describe()))
    return 0


def _args_schema(parser):
    _plugin_argument(parser, _("include a plugin's components"))


def cmd_schema(args) -> int:
    from engine.schema import scenario_schema

    print(json.dumps(scenario_schema(plugins=args.plugins), indent=2))
    return 0


def _args_plugins(parser):
    parser.add_argument("--kind", help=_("only this kind (layers, activations, losses, ...)"))
    _plugin_argument(parser, _("also load this plugin"))


def cmd_plugins(args) -> int:
    from engine.listing import describe_components
    from engine.plugins import load_registry

    print(describe_components(load_registry(args.plugins), args.kind), end="")
    return 0


# --- gradcheck ---------------------------------------------------------------------------------


def _args_gradcheck(parser):
    _scenario_arguments(parser)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-6,
        help=_("largest relative error accepted (default 1e-6)"),
    )
    parser.add_argument(
        "--max-entries",
        type=int,
        default=200,
        help=_("entries checked per parameter (sampled when larger)"),
    )


def cmd_gradcheck(args) -> int:
    from engine.gradcheck import check_scenario

    if not args.tolerance > 0:  # also refuses NaN
        raise TracegradError(
            _("--tolerance must be a number > 0, found {tolerance}").format(
                tolerance=args.tolerance
            ),
            "--tolerance",
            hint=_("for example  --tolerance 1e-6"),
        )
    if args.max_entries < 1:
        raise TracegradError(
            _("--max-entries must be at least 1, found {max_entries}").format(
                max_entries=args.max_entries
            ),
            "--max-entries",
            hint=_("the number of entries checked per parameter, e.g. --max-entries 200"),
        )
    scenario = _load(args)
    results = check_scenario(scenario, max_entries=args.max_entries)
    width = max(len(r.name) for r in results)
    from engine.report.terminal import cells_wide

    parameter, checked = _("parameter"), _("checked")
    parameter += " " * (width - cells_wide(parameter))
    checked = " " * (9 - cells_wide(checked)) + checked
    head = _("{parameter}  {checked}  max relative error")
    print(head.format(parameter=parameter, checked=checked))
    for r in results:
        mark = _("ok") if r.ok(args.tolerance) else _("FAIL")
        print(f"{r.name:<{width}}  {r.checked:>4}/{r.total:<4}  {r.error:.3e}  {mark}")
    failed = [r for r in results if not r.ok(args.tolerance)]
    within = _("{count} of {total} parameters within {tolerance:g}")
    print(
        within.format(
            count=len(results) - len(failed), total=len(results), tolerance=args.tolerance
        )
    )
    return 1 if failed else 0


# --- verify ------------------------------------------------------------------------------------


def _args_verify(parser):
    parser.add_argument("trace", help=_("a trace.jsonl file or a run folder"))
    parser.add_argument(
        "--atol",
        type=float,
        default=1e-9,
        help=_(
            "absolute tolerance (default 1e-9); a value holds when "
            "|recorded - recomputed| <= atol + rtol·|recomputed|"
        ),
    )
    parser.add_argument(
        "--rtol", type=float, default=1e-7, help=_("relative tolerance (default 1e-7)")
    )
    parser.add_argument(
        "--claims-only",
        action="store_true",
        help=_("skip the integrity digest: check the claims of a trace edited on purpose"),
    )
    parser.add_argument(
        "--allow-unchecked",
        action="store_true",
        help=_("exit 0 when every checked claim holds, even if some components have no rule"),
    )


def cmd_verify(args) -> int:
    from engine.verify import verify_trace

    report = verify_trace(args.trace, atol=args.atol, rtol=args.rtol, claims_only=args.claims_only)
    print(report.format())
    if not report.ok:
        return 1
    return 0 if report.complete or args.allow_unchecked else 3


# --- sweep -------------------------------------------------------------------------------------


def _args_sweep(parser):
    parser.add_argument("file", help=_("sweep YAML file (see docs/sweeps.md)"))
    parser.add_argument(
        "--executor",
        default="local",
        help=_(
            "where the runs execute: local (default), processes:N, dask://HOST:PORT, "
            "dask-local or dask-local:N"
        ),
    )
    parser.add_argument(
        "-o",
        "--out",
        dest="out_dir",
        metavar="OUT_DIR",
        help=_("output folder (default: runs/sweep-<name>/); run again to resume"),
    )
    parser.add_argument("--quiet", "-q", action="store_true", help=_("print only the summary"))


def cmd_sweep(args) -> int:
    from pathlib import Path

    from engine.progress import ProgressBar
    from engine.sweep import run_sweep

    tty = sys.stderr.isatty()
    bar = ProgressBar(f"sweep {Path(args.file).stem}", enabled=not args.quiet and tty)

    def progress(done, total, outcome):
        bar(done, total)
        if not args.quiet and not tty:
            print(f"[{done}/{total}] {outcome.run_id}: {outcome.status}", file=sys.stderr)

    with _sigterm_as_interrupt():
        result = run_sweep(args.file, args.executor, args.out_dir, progress)
    bar.close()
    print(result.summary())
    if result.status == "interrupted":
        return 130
    return 1 if result.failed else 0


# --- report, show ------------------------------------------------------------------------------


def _args_report(parser):
    parser.add_argument(
        "source", metavar="TRACE_OR_RUN_FOLDER", help=_("trace.jsonl or run folder")
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=_(
            "the report file; .html (one self-contained page) or .md (Markdown, figures in "
            "FILE_files/); default: report.html beside the trace"
        ),
    )
    parser.add_argument(
        "--format", help=_("html or markdown (default: from the output's extension)")
    )
    parser.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help=_("walk through at most N traced steps (default 6: first, last, evenly between)"),
    )
    _plugin_argument(parser, _("load a plugin with more report sections or formats (repeatable)"))


def cmd_report(args) -> int:
    from engine.report import write_report

    options = {}
    if args.steps is not None and args.steps < 1:
        raise TracegradError(
            _("--steps must be at least 1, found {steps}").format(steps=args.steps),
            "--steps",
            hint=_("the number of traced steps the report walks through, e.g. --steps 6"),
        )
    if args.steps is not None:  # every reporter that samples traced steps
        from engine.plugins import load_registry

        registry = load_registry(args.plugins)
        options = {
            name: {"max_steps": args.steps}
            for name, component in registry.components["reporters"].items()
            if "max_steps" in component.config.model_fields
        }
    path = write_report(
        args.source, args.output, args.format, options=options, plugins=args.plugins
    )
    print(_("{path} ({size:.0f} KiB)").format(path=path, size=path.stat().st_size / 1024))
    return 0


def _args_show(parser):
    parser.add_argument("source", metavar="TRACE", help=_("trace.jsonl or run folder"))
    parser.add_argument("--step", type=int, help=_("the traced step to show (default: the first)"))
    parser.add_argument("--layer", help=_("only this layer (and its parameters)"))


def cmd_show(args) -> int:
    from engine.report import show_text

    print(show_text(args.source, args.step, args.layer), end="")
    return 0


def _args_new_plugin(parser):
    parser.add_argument("name", help=_("the component's name, e.g. mish (its type: in scenarios)"))
    parser.add_argument("--kind", default="activation", help=_("activation (default) or loss"))
    parser.add_argument("--into", default=None, help=_("the folder to create (default ./NAME)"))


def cmd_new_plugin(args) -> int:
    from engine.new_plugin import create

    folder = create(args.name, args.kind, args.into)
    print(
        _("{folder}: a plugin package for {kind} '{name}'").format(
            folder=folder, kind=_(args.kind), name=args.name
        )
    )
    print(
        "  " + _("next: cd {folder} && pip install -e . && python -m pytest").format(folder=folder)
    )
    return 0


COMMANDS = {
    "run": (cmd_run, _args_run, N_("train a scenario and write its trace")),
    "validate": (cmd_validate, _args_validate, N_("check a scenario without running it")),
    "schema": (cmd_schema, _args_schema, N_("print the JSON Schema of scenario files")),
    "plugins": (cmd_plugins, _args_plugins, N_("list every component and its options")),
    "gradcheck": (
        cmd_gradcheck,
        _args_gradcheck,
        N_("compare every gradient with central finite differences"),
    ),
    "verify": (
        cmd_verify,
        _args_verify,
        N_("re-derive every number of a trace from the values it records"),
    ),
    "sweep": (cmd_sweep, _args_sweep, N_("run a grid of configurations and seeds, tabulate")),
    "report": (cmd_report, _args_report, N_("write an HTML or Markdown report of a trace")),
    "show": (cmd_show, _args_show, N_("print a traced step in the terminal, step by step")),
    "new-plugin": (cmd_new_plugin, _args_new_plugin, N_("create a plugin package to start from")),
}


def parser() -> argparse.ArgumentParser:
    from engine.cli_language import Formatter, Parser, add_lang_argument, localize

    top = Parser(
        prog="tracegrad",
        description=_(
            "Learn how neural networks train: run YAML scenarios, "
            "trace every number, check it by hand."
        ),
        formatter_class=Formatter,
    )
    top.add_argument("--version", action="version", version=f"tracegrad {engine.__version__}")
    top.add_argument("--debug", action="store_true", help=_("show tracebacks of errors"))
    add_lang_argument(top, suppress=False)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_command, add_arguments, help_text) in COMMANDS.items():
        sub = commands.add_parser(
            name, help=_(help_text), description=_(help_text), formatter_class=Formatter
        )
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help=_("show tracebacks of errors"),
        )
        add_lang_argument(sub, suppress=True)
        add_arguments(sub)
        localize(sub)
    return localize(top)


def main(argv: list[str] | None = None) -> int:
    try:
        return _in_language(argv)
    except KeyboardInterrupt:  # Ctrl-C while the language is chosen or restored
        _to_stderr(_("interrupted"))
        return 130


def _in_language(argv: list[str] | None) -> int:
    from engine.cli_language import choose_language, restore_language

    try:
        previous = choose_language(sys.argv[1:] if argv is None else list(argv))
    except TracegradError as error:  # an unknown --lang or TRACEGRAD_LANG
        _to_stderr(_format_error(error))
        return error.exit_code
    try:
        return _main(argv)
    finally:  # a caller in the same process (a test, a notebook) keeps its language
        restore_language(previous)


def _main(argv: list[str] | None) -> int:
    try:
        args = parser().parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the command starts
        _to_stderr(_("interrupted"))
        return 130
    try:
        from engine.limits import applied

        with applied(getattr(args, "limits", None) or None):
            code = COMMANDS[args.command][0](args)
        if sys.stdout is None:  # started with stdout closed: print() wrote nothing
            raise OSError(errno.EBADF, "standard output is closed")
        sys.stdout.flush()
        return code
    except TracegradError as error:
        if args.debug:
            raise
        _to_stderr(_format_error(error))
        return error.exit_code
    except KeyboardInterrupt:
        _to_stderr(_("interrupted"))
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except OSError as error:
        if _interrupted(error):
            print(_("interrupted"), file=sys.stderr)
            return 130
        if args.debug or error.filename is not None:
            raise
        # writing the output failed (stdout on a full disk, /dev/full): say so, once
        _drop_stdout()
        reason = error.strerror or error
        _to_stderr(_("error: cannot write the output: {reason}").format(reason=reason))
        return 2
    except Exception as error:
        if not _interrupted(error):
            raise
        print(_("interrupted"), file=sys.stderr)
        return 130


def _interrupted(error: BaseException) -> bool:
    """Ctrl-C inside a library's compiled code (pydantic building a model) can surface as
    that library's own error; its cause or context is then the KeyboardInterrupt."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _to_stderr(text: str) -> None:
    """Print an error; with stderr closed or full only the exit status can tell."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(text, file=sys.stderr, flush=True)


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no real stdout
        descriptor = os.open(os.devnull, os.O_WRONLY)
        os.dup2(descriptor, sys.stdout.fileno())
        os.close(descriptor)


def _format_error(error: TracegradError) -> str:
    head = _("{where}: error: ").format(where=error.where) if error.where else _("error: ")
    return head + str(error).removeprefix(f"{error.where}: " if error.where else "")


if __name__ == "__main__":
    sys.exit(main())
