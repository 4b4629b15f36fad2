"""The ``mmbench`` command: run, validate, plugins, leaderboard.

User errors print one line (no traceback unless ``--debug``) and exit with code 2; a run whose
cells failed exits with code 1 after recording everything else. Bad input met mid-run (a plugin
breaking its contract, too little memory, a full disk) is a user error too: the cells it
touched are not recorded, the others are.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import SuiteError, UserError, is_disk_full

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
COLUMNS_HELP = ("leaderboard columns, comma-separated: accuracy, macro_recall, macro_f1, ci, gain, "
                "gain_ci, p, n, fit_s, predict_s, score_s, robust_s, mem, dims, robustness, "
                "log_loss, brier, ece, tuned, optimism, tune_s, cost "
                "(= fit_s,predict_s,score_s,tune_s,mem,dims: mean seconds per cell), scores "
                "(= log_loss,brier,ece); default: accuracy,macro_recall,macro_f1,ci,gain,gain_ci,p,n,robustness")
PLUGINS_DIR_HELP = ("also load every plugin .py file in DIR (unpackaged plugins; each recorded "
                    "with its file's sha256 as its version)")
ALL_HELP = ("also the recorded cells the current suite no longer plans (it was edited since), "
            "marked 'not in the current suite'")


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from .plan import plan_suite
    from .plugins import get_catalog
    from .suite import load_suite

    plan = plan_suite(load_suite(args.suite), get_catalog())
    suite = plan.suite
    console.print(
        f"{args.suite}: ok — {len(plan.cells)} cells planned "
        f"({len(suite.datasets)} dataset(s), {len(suite.seeds)} seed(s))",
        highlight=False, markup=False,
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from .leaderboard import print_leaderboard
    from .leaderboard import parse_columns
    from .runner import run_suite

    parse_columns(args.columns)  # an unknown column fails before the run, not after
    if getattr(args, "report", None):  # so does a report path that cannot be written
        from .writable import output_file

        output_file(args.report, "report")
    from .timeouts import check_timeout

    choice = executor_choice(args)  # (a bad --n-jobs fails before the run)
    summary = run_suite(args.suite, console, rerun=args.rerun, fail_fast=args.fail_fast,
                        wait=getattr(args, "wait", False), yes=getattr(args, "yes", True),
                        rerun_failed=getattr(args, "rerun_failed", False),
                        cell_timeout=check_timeout(args.cell_timeout), **choice)
    kept = (f" ({summary.kept_failed} of them failed: not retried, --rerun-failed retries "
            "them)" if summary.kept_failed else "")
    shared = (f" ({summary.shared} of them computed once with another seed: nothing in them "
              "depends on the seed)" if summary.shared else "")
    console.print(
        f"{summary.planned} cells planned, {summary.skipped} already recorded{kept}, "
        f"{summary.ran + len(summary.failed)} run{shared}, {len(summary.failed)} failed; "
        f"{summary.features_computed} feature matrices computed; {summary.seconds:.1f} s",
        highlight=False,
    )
    if summary.ran or summary.skipped:
        print_leaderboard(summary.results_dir, console, columns=args.columns)
    if summary.ran or summary.failed:
        from .breakdown import table

        console.print(table(summary.cost))
    console.print(f"results: {summary.results_dir}", highlight=False, markup=False)
    _run_report(args, summary.results_dir, console)
    for cell, message in summary.failed:
        from .runner import describe

        console.print(f"[red]failed:[/] {escape(describe(cell))}: {escape(message)}",
                      soft_wrap=True)  # one line, as long as it is
    return EXIT_FAILED if summary.failed or summary.kept_failed else EXIT_OK


def executor_choice(args: argparse.Namespace) -> dict[str, object]:
    """``run_suite`` keywords from ``--executor``/``--address``/``--n-jobs`` (they override the
    suite's ``[executor]`` table; ``--address`` alone means ``--executor dask``)."""
    name = getattr(args, "executor", None)
    options = {"address": getattr(args, "address", None), "n_jobs": getattr(args, "n_jobs", None)}
    n_jobs = options["n_jobs"]
    if n_jobs is not None and n_jobs < 1:
        raise UserError(f"--n-jobs must be a number of worker processes, 1 or more; got "
                        f"{n_jobs} (1 runs the cells one after the other)")
    if name is None and options["address"]:
        name = "dask"
    return {"executor": name, "executor_options": {k: v for k, v in options.items() if v}}


def cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
    from .leaderboard import print_leaderboard

    print_leaderboard(Path(args.results), console, args.metric, columns=args.columns,
                      include_all=args.all)
    return EXIT_OK


def _run_report(args: argparse.Namespace, results_dir: Path, console: Console) -> None:
    """After a run: write the report (``--report [PATH]``) or say how to make one."""
    if getattr(args, "report", None) is None:
        console.print(f"report: mmbench report {results_dir} -o report.html", highlight=False,
                      markup=False)
        return
    if not any((results_dir / "cells").glob("*.json")):
        return
    from .report import write_report

    path = write_report(results_dir, args.report or None)
    console.print(f"report: {path}", highlight=False, markup=False)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from .report import write_report

    path = write_report(Path(args.results), args.output, args.metric, include_all=args.all)
    console.print(f"report: {path}", highlight=False, markup=False)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from .export import export

    path, text = export(Path(args.results), args.format, args.output, args.metric,
                        include_all=args.all)
    if path is None:
        sys.stdout.write(text)
    else:
        console.print(f"{args.format}: {path}", highlight=False, markup=False)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from .compare import compare_runs

    if not 0 < args.alpha < 1:  # (NaN fails this too)
        raise UserError(f"--alpha must be a significance level between 0 and 1 (e.g. 0.05); "
                        f"got {args.alpha}")
    df, metric = compare_runs(args.results_a, args.results_b, args.metric, args.alpha,
                              include_all=args.all)
    if df.empty:
        console.print("no configuration (dataset, featurizers, fusion, classifier) is present "
                      "in both runs", highlight=False)
        return EXIT_OK
    table = Table(title=escape(f"{args.results_b} − {args.results_a}: {metric}"),
                  header_style="bold")
    for col in ("dataset", "featurizers", "fusion", "classifier", "A", "B", "B − A",
                "p (Holm)", "test"):
        table.add_column(col, justify="right" if col in {"A", "B", "B − A", "p (Holm)"} else
                         "left")
    for _, r in df.iterrows():
        mark = "*" if r["significant"] else ""
        style = ("green" if r["diff"] > 0 else "red") if r["significant"] else ""
        table.add_row(escape(r["dataset"]), escape(r["featurizers"]), escape(r["fusion"]),
                      escape(r["classifier"]), f"{r[f'{metric}_a']:.4f}",
                      f"{r[f'{metric}_b']:.4f}", f"{r['diff']:+.4f}{mark}",
                      f"{r['p_holm']:.3g}", r["test"], style=style)
    console.print(table)
    console.print(f"{int(df['significant'].sum())} of {len(df)} differences significant "
                  f"(Holm-corrected p < {args.alpha})", highlight=False)
    return EXIT_OK


def cmd_plugins(args: argparse.Namespace, console: Console) -> int:
    from .plugins import describe_plugins, get_catalog

    catalog = get_catalog()
    if getattr(args, "markdown", False) or getattr(args, "name", None):
        from .plugin_info import print_reference

        return print_reference(catalog, args, console)
    if getattr(args, "json", False):
        import json

        sys.stdout.write(json.dumps(describe_plugins(catalog), indent=2) + "\n")
        return EXIT_OK
    table = Table(title="registered plugins", header_style="bold",
                  caption="mmbench plugins NAME: a plugin's parameters and documentation")
    for col in ("kind", "name", "plugin", "distribution", "summary"):
        table.add_column(col)
    for kind, registry in catalog.registries.items():
        for entry in registry:
            dist = f"{entry.distribution} {entry.version}".strip()
            extra = f" (aliases: {', '.join(entry.aliases)})" if entry.aliases else ""
            table.add_row(*map(escape, (kind, entry.name + extra, entry.plugin, dist,
                                        entry.summary or "")))
    console.print(table)
    for broken in catalog.broken:
        console.print(
            f"[red]broken plugin[/] {escape(broken.name)} "
            f"({escape(broken.distribution or 'unknown distribution')}): {escape(broken.error)}"
        )
    for plugin in describe_plugins(catalog)["plugins"]:
        if not plugin["registered"]:
            console.print(f"[yellow]empty[/] plugin {escape(plugin['name'])!r} "
                          f"({escape(plugin['distribution'] or 'unknown distribution')}) "
                          "registered nothing: mark its hook functions with @mmbench.hookimpl",
                          highlight=False)
    if catalog.disabled:
        console.print(f"disabled by MMBENCH_DISABLE_PLUGINS: {', '.join(catalog.disabled)}",
                      highlight=False, markup=False)
    return EXIT_OK


def cmd_new_plugin(args: argparse.Namespace, console: Console) -> int:
    from .scaffold import new_plugin

    folder = new_plugin(args.name, args.kind, Path(args.dir))
    console.print(f"wrote {folder}; next: pip install -e {folder} && pytest {folder}",
                  highlight=False, markup=False)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmbench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mmbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a suite (only cells not yet recorded)")
    p.add_argument("suite", help="path to a suite TOML file")
    p.add_argument("--rerun", action="store_true", help="run every cell, even recorded ones")
    p.add_argument("--rerun-failed", action="store_true", help="also run the cells recorded "
                   "as failed (default: a failed cell is recorded with its error and not "
                   "retried, unless its inputs changed)")
    p.add_argument("--yes", action="store_true", help="start a run of more than 1,000 cells "
                   "without a record (MMBENCH_CONFIRM_CELLS) without refusing")
    p.add_argument("--fail-fast", action="store_true", help="stop at the first failed cell")
    p.add_argument("--executor", help="executor plugin that runs the cells: local (default), "
                   "dask; overrides the suite's [executor] table")
    p.add_argument("--address", help="Dask scheduler address, e.g. tcp://host:8786 "
                   "(implies --executor dask)")
    p.add_argument("--n-jobs", type=int, help="local executor: worker processes")
    p.add_argument("--report", nargs="?", const="", metavar="PATH",
                   help="write the HTML report at the end (default results/<suite>/report.html)")
    p.add_argument("--columns", help=COLUMNS_HELP)
    p.add_argument("--cell-timeout", type=float, metavar="SECONDS", help="stop a cell running "
                   "longer than this and record it as failed (overrides the suite's "
                   "cell_timeout; enforced by worker processes: --n-jobs 2 or dask)")
    p.add_argument("--wait", action="store_true", help="if another run is writing the same "
                   "results folder, wait for it to finish (default: refuse, exit code 2)")
    p.add_argument("--plugins-dir", metavar="DIR", help=PLUGINS_DIR_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a suite and count its cells; runs nothing")
    p.add_argument("suite")
    p.add_argument("--plugins-dir", metavar="DIR", help=PLUGINS_DIR_HELP)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("leaderboard", help="print the leaderboard of stored results")
    p.add_argument("results", help="results/<suite> folder")
    p.add_argument("--metric", choices=["accuracy", "macro_recall", "macro_f1"])
    p.add_argument("--columns", help=COLUMNS_HELP)
    p.add_argument("--all", action="store_true", help=ALL_HELP)
    p.set_defaults(func=cmd_leaderboard)

    metrics = ["accuracy", "macro_recall", "macro_f1"]
    p = sub.add_parser("report", help="write a self-contained HTML report of stored results")
    p.add_argument("results", help="results/<suite> folder")
    p.add_argument("-o", "--output", help="HTML file (default results/<suite>/report.html)")
    p.add_argument("--metric", choices=metrics, help="headline metric (default: the suite's)")
    p.add_argument("--all", action="store_true", help=ALL_HELP)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="export the leaderboard: csv, parquet, markdown, latex")
    p.add_argument("results", help="results/<suite> folder")
    p.add_argument("--format", required=True, choices=["csv", "parquet", "markdown", "latex"])
    p.add_argument("-o", "--output", help="file to write (default: stdout; parquet: "
                   "results/<suite>/leaderboard.parquet)")
    p.add_argument("--metric", choices=metrics)
    p.add_argument("--all", action="store_true", help=ALL_HELP)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="compare two runs' shared configurations, with tests")
    p.add_argument("results_a", help="results folder of run A")
    p.add_argument("results_b", help="results folder of run B")
    p.add_argument("--metric", choices=metrics)
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (Holm)")
    p.add_argument("--all", action="store_true", help=ALL_HELP)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("plugins", help="list registered plugins and broken ones; NAME: one "
                       "plugin's reference (docstring, parameters with types and defaults)")
    p.add_argument("name", nargs="?", help="a registered name or alias: show its kind, "
                   "level/modality, distribution, docstring and every parameter")
    p.add_argument("--kind", choices=["dataset", "featurizer", "fusion", "classifier",
                                      "executor"], help="with NAME: only this kind")
    p.add_argument("--json", action="store_true", help="machine-readable: plugins, their "
                   "distribution and version, the names of each kind they registered, broken "
                   "plugins with their errors; with NAME: that plugin's reference")
    p.add_argument("--markdown", action="store_true", help="the reference of every registered "
                   "plugin as Markdown (docs/reference.md is written by --markdown "
                   "--distribution mmbench)")
    p.add_argument("--distribution", action="append", metavar="DIST", help="with --markdown: "
                   "only the plugins of this distribution (repeatable)")
    p.add_argument("--plugins-dir", metavar="DIR", help=PLUGINS_DIR_HELP)
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("new-plugin", help="write a ready-to-install plugin package to start from")
    p.add_argument("name", help="distribution name, e.g. mmbench-median-fusion (its package is "
                   "mmbench_median_fusion, its plugin name median-fusion)")
    p.add_argument("--kind", default="fusion", help="what the package provides: featurizer, "
                   "fusion, classifier or dataset, or several comma-separated into one package "
                   "(--kind fusion,featurizer) (default: fusion)")
    p.add_argument("--dir", default=".", help="folder to create the package in (default: .)")
    p.set_defaults(func=cmd_new_plugin)
    return parser


def one_line(message: str) -> str:
    """A user error on one line: a message that spans lines (a plugin's, say) joined with " | "."""
    return " | ".join(part.strip() for part in message.splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    if not console.is_terminal:  # CI logs: wide tables rather than wrapped cells
        console = Console(width=260)
    err = Console(stderr=True)
    if not err.is_terminal:  # one line per message in logs, not wrapped at 80 columns
        err = Console(stderr=True, width=1000)
    func: Callable[[argparse.Namespace, Console], int] = args.func
    # one line per warning (each shown once), not Python's file:line and source line
    warnings.formatwarning = lambda message, *_: f"warning: {one_line(str(message))}\n"
    try:
        if getattr(args, "plugins_dir", None):
            from .localplugins import use_plugins_dir
            from .plugins import get_catalog

            use_plugins_dir(get_catalog(), args.plugins_dir)
        return func(args, console)
    except SuiteError as exc:
        if args.debug:
            raise
        if len(exc.problems) == 1:  # one problem, one line
            problem = one_line(exc.problems[0])
            err.print(f"[red]invalid suite[/] {escape(exc.path)}: {escape(problem)}",
                      highlight=False, soft_wrap=True)
            return EXIT_USER
        err.print(f"[red]invalid suite[/] {escape(exc.path)}:", highlight=False)
        for problem in exc.problems:
            err.print(f"  {escape(problem)}", highlight=False)
        return EXIT_USER
    except UserError as exc:
        if args.debug:
            raise
        err.print(f"[red]error:[/] {escape(one_line(str(exc)))}", highlight=False,
                  soft_wrap=True)
        return EXIT_USER
    except KeyboardInterrupt:
        err.print("interrupted; finished cells are recorded, re-run to continue")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if is_disk_full(exc):  # a write outside mmbench's own (which say their path)
            where = f" while writing {exc.filename}" if getattr(exc, "filename", None) else ""
            err.print(f"[red]error:[/] disk full{escape(where)}: free space and run again; "
                      "finished cells are kept", highlight=False, soft_wrap=True)
            return EXIT_USER
        err.print(f"[red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
                  "(run with --debug for the traceback)", highlight=False)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
