"""Command line: `<project-slug> audit|train|models|predict|serve|drift|outcomes|performance|monitor|report`
(also `python -m <package>`).

Exit codes, the same for every command:
  0    done
  1    the quality gate failed (`train`); a drift alarm (`drift`); performance degraded or realized
       coverage below target (`performance`); either of the two (`monitor`)
  2    bad input: one line on stderr says what is wrong and what to do
  3    internal error (a bug, not the input): one line on stderr says where the full traceback was written
       (logs/errors/ of the project, or the temporary folder when the project is read-only)
  130  interrupted (Ctrl+C)
Heavy libraries are imported by the commands, not here, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core.errors import GateFailed, UserError, one_line, record_internal_error

EXIT_OK, EXIT_GATE, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_DRIFT = EXIT_DEGRADED = 1


def _audit(args: argparse.Namespace) -> int:
    from .audit.command import run_audit
    from .core.config import load_config

    summary = run_audit(load_config(args.config))
    print(f"audit report: {summary.outputs['html']}")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from .artifacts.model_store import ModelStore
    from .artifacts.paths import MODEL_CARD_FILE, ReportFolder
    from .core.config import load_config
    from .core.wording import number
    from .training.train import run_train

    config = load_config(args.config)
    metadata = run_train(config, data_path=Path(args.data) if args.data else None, as_shadow=args.shadow)
    gate = metadata.gate
    card = ReportFolder(Path("reports")).model_card
    if args.shadow:  # the current model's card stays in reports/; the shadow's is in its version folder
        card = ModelStore(config.models_dir).folder(str(metadata.model_version)).root / MODEL_CARD_FILE
    print(
        f"model {metadata.model_version}{' (shadow)' if args.shadow else ''}: {gate.metric} "
        f"{number(gate.model)} vs baseline {number(gate.baseline)} (lift {number(gate.lift, signed=True)}); "
        f"model card: {Path(card).as_posix()}"
    )
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    import json

    from .core.config import load_config
    from .registry import commands

    config = load_config(args.config)
    if args.action == "list":
        entries = commands.list_versions(config)
        print(
            json.dumps([e.to_json() for e in entries], indent=2)
            if args.json
            else commands.version_table(entries)
        )
    elif args.action == "promote":
        pointer = commands.promote(config, args.version)
        print(f"{pointer.current} is now the current model; running servers switch to it within seconds")
    elif args.action == "rollback":
        left, pointer = commands.rollback(config)
        print(f"rolled back from {left} to {pointer.current}; running servers switch to it within seconds")
    elif args.action == "shadow":
        if args.off == (args.version is not None):
            raise UserError("give a VERSION to shadow the current model with, or --off (not both)")
        pointer = commands.shadow(config, None if args.off else args.version)
        print(
            f"{pointer.shadow} now shadows {pointer.current}: servers score live traffic with both"
            if pointer.shadow
            else "shadow scoring is off"
        )
    else:
        from .registry.compare import run_compare

        summary = run_compare(config, since=args.since, last=args.last)
        print(summary.headline)
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .serving.predict_command import run_predict

    options = {
        name: getattr(args, name) for name in ("engine", "on_error", "chunk_rows", "workers", "coverage")
    }
    summary = run_predict(load_config(args.config), args.input, args.output, **options)
    scored = f"{summary['rows']:,} rows scored"
    if summary["rejects"]:
        scored += f", {summary['rejected']:,} rejected (listed in {summary['rejects']})"
    print(f"{scored} in {summary['seconds']} s: {summary['output']}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .serving.serve import run_server

    most = (os.cpu_count() or 1) * 4
    if not 1 <= args.workers <= most:
        raise UserError(f"--workers is {args.workers}; expected 1 to {most} (4 per core on this machine)")
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UserError(f"--port is {args.port}; expected a port number from 1 to 65535")
    run_server(load_config(args.config), host=args.host, port=args.port, workers=args.workers)
    return EXIT_OK


def _drift(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .drift.monitor import headline, run_drift

    summary = run_drift(
        load_config(args.config),
        current_path=Path(args.current) if args.current else None,
        since=args.since,
        last=args.last,
        workspace=Path(args.workspace) if args.workspace else None,
        sample_rows=args.sample_rows,
        seed=args.seed,
    )
    print(headline(summary))
    return EXIT_DRIFT if summary["alarm"] else EXIT_OK


def _outcomes(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .monitoring.outcomes import load_outcomes_file

    loaded = load_outcomes_file(load_config(args.config), Path(args.input))
    print(
        f"{loaded.rows:,} outcomes stored in {loaded.output}: {loaded.matched:,} matched a logged "
        f"prediction, {loaded.unknown:,} did not (yet)"
    )
    return EXIT_OK


def _performance(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .monitoring.performance import run_performance

    summary = run_performance(load_config(args.config), since=args.since, last=args.last)
    print(summary.headline)
    return EXIT_DEGRADED if summary.degraded else EXIT_OK


def _monitor(args: argparse.Namespace) -> int:
    from .core.config import load_config
    from .monitoring.command import run_monitor

    return run_monitor(load_config(args.config), since=args.since, last=args.last)


def _report(args: argparse.Namespace) -> int:
    from datetime import date

    from .core.config import load_config
    from .reporting.weekly import run_report

    first, last = date(1900, 1, 1), date(9999, 12, 30)  # a week before and a day after stay dates
    expected = f"expected a date as YYYY-MM-DD from {first} to {last}, e.g. 2025-01-31"
    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise UserError(f"--date is {args.date!r}; {expected}") from None
    if day is not None and not first <= day <= last:
        raise UserError(f"--date is {args.date!r}; {expected}")
    paths = run_report(load_config(args.config), day=day)
    print(f"weekly summary: {paths['markdown']}")
    print(f"weekly summary (HTML): {paths['html']}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument(
        "--config", help="path to configs/project.yaml (default: found from the current directory upwards)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "audit", help="audit the data; write the audit report, the data contract and the data dictionary"
    ).set_defaults(run=_audit)
    train = commands.add_parser(
        "train", help="cross-validate against a baseline, gate, fit; write the model and its model card"
    )
    train.add_argument(
        "--data",
        help="new labelled data (CSV or Parquet): train a challenger, promoted only if it beats the current "
        "model on the same validation rows",
    )
    train.add_argument(
        "--shadow",
        action="store_true",
        help="store the new model as the shadow (scored beside the current model on live traffic, see "
        "`models compare`) instead of making it current",
    )
    train.set_defaults(run=_train)
    _add_models_parser(commands)
    predict = commands.add_parser(
        "predict",
        help="score a CSV or Parquet file in chunks; write the predictions to a CSV or Parquet file",
    )
    predict.add_argument("--input", required=True, help="file of records with the model's feature columns")
    predict.add_argument("--output", required=True, help="where to write the ID columns and predictions")
    predict.add_argument(
        "--on-error",
        choices=["fail", "skip"],
        default="fail",
        help="rows that break the model's data contract: fail (default: write nothing, list the first "
        "ones) or skip (score the others; the bad ones go to <output stem>.rejects.csv)",
    )
    predict.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help="rows read and scored at a time: memory against speed (default: predict.chunk_rows, 50000)",
    )
    predict.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that score chunks at once (default: predict.workers; null there = one per core); "
        "a file of at most 4 chunks is scored in this process, and so is one of fewer than 100000 rows "
        "unless a number of workers is given",
    )
    predict.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local (this machine, default) or spark: the same scorer through Spark mapInPandas on the "
        "session spark-submit or spark.master gives; --input and --output are then paths Spark reads and "
        "writes (a table name for --input too), the output Parquet",
    )
    predict.add_argument(
        "--coverage",
        default=None,
        help="with uncertainty on: the share of true values each prediction's interval or set holds, "
        "strictly between 0 and 1 (default: uncertainty.coverage, 0.9)",
    )
    predict.set_defaults(run=_predict)
    serve = commands.add_parser(
        "serve", help="run the prediction API (settings: api in configs/project.yaml)"
    )
    serve.add_argument("--host", help="address to listen on (default: api.host)")
    serve.add_argument("--port", type=int, help="port (default: api.port)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes, each with the model (default 1)"
    )
    serve.set_defaults(run=_serve)
    drift = commands.add_parser(
        "drift",
        help="compare live traffic (the prediction log) with the training data; exit 1 on drift",
    )
    drift.add_argument(
        "--current",
        help="live rows instead of the prediction log: a CSV or Parquet file, or a folder of Parquet files "
        "(partitioned or not, e.g. dt=2026-11-01/part-0.parquet; sampled without being loaded)",
    )
    window = drift.add_mutually_exclusive_group()
    window.add_argument("--since", help="only rows from this UTC date or time on (ISO 8601, e.g. 2025-05-01)")
    window.add_argument("--last", help="only rows of this recent period, e.g. 24h, 7d or 2w")
    drift.add_argument("--workspace", help="also add the run to this Evidently workspace (`evidently ui`)")
    drift.add_argument(
        "--sample-rows",
        type=int,
        help="live rows compared, drawn at random (default: drift.sample_rows; 0 = all)",
    )
    drift.add_argument("--seed", type=int, help="seed of that draw (default: drift.seed)")
    drift.set_defaults(run=_drift)

    outcomes = commands.add_parser(
        "outcomes",
        help="load outcomes (ground truth) from a CSV or Parquet file into logs/outcomes/, keyed by "
        "prediction_id or the ID columns",
    )
    outcomes.add_argument(
        "--input",
        required=True,
        help="file with a prediction_id column or the ID columns (data.id_columns), and the target column",
    )
    outcomes.set_defaults(run=_outcomes)
    for name, run, does in (
        (
            "performance",
            _performance,
            "realized performance: outcomes joined to the prediction log, per window and group, beside the "
            "cross-validated score (and, for classifiers, the estimate from the probabilities); exit 1 when "
            "it dropped more than monitoring.max_drop",
        ),
        ("monitor", _monitor, "drift and performance together; exit with the worse of their codes"),
    ):
        command = commands.add_parser(name, help=does)
        window = command.add_mutually_exclusive_group()
        window.add_argument("--since", help="only predictions from this UTC date or time on (ISO 8601)")
        window.add_argument("--last", help="only predictions of this recent period, e.g. 24h, 7d or 2w")
        command.set_defaults(run=run)

    report = commands.add_parser(
        "report",
        help="weekly executive summary (done, blockers, impact) from the experiment log, audit, drift "
        "and model: reports/weekly/<date>.md and .html",
    )
    report.add_argument("--date", help="last day of the week to summarise, YYYY-MM-DD (default: today, UTC)")
    report.set_defaults(run=_report)
    return parser


def _add_models_parser(commands: Any) -> None:
    models = commands.add_parser(
        "models", help="the stored model versions: list, promote, roll back, shadow, compare"
    )
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every stored version: trained at, data, gate metric, status")
    listing.add_argument("--json", action="store_true", help="as JSON")
    promote = actions.add_parser("promote", help="make VERSION the current model (running servers switch)")
    promote.add_argument("version", metavar="VERSION")
    actions.add_parser("rollback", help="back to the model that was current before this one")
    shadow = actions.add_parser(
        "shadow", help="also score live traffic with VERSION, off the request path (--off: stop)"
    )
    shadow.add_argument("version", nargs="?", metavar="VERSION")
    shadow.add_argument("--off", action="store_true", help="stop shadow scoring")
    compare = actions.add_parser(
        "compare",
        help="the current model and its shadow on the same live requests: agreement, and realized "
        "performance where outcomes came back",
    )
    window = compare.add_mutually_exclusive_group()
    window.add_argument("--since", help="only predictions from this UTC date or time on (ISO 8601)")
    window.add_argument("--last", help="only predictions of this recent period, e.g. 24h, 7d or 2w")
    models.set_defaults(run=_models)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except GateFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_GATE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of the output went away (`models list | head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug; Python's own exit code (1) would read as "gate failed" or "drift"
        return _internal_error(exc, args, argv)


def _internal_error(error: Exception, args: argparse.Namespace, argv: list[str]) -> int:
    """One line on stderr, the traceback in a file (or on stderr when no file can be written)."""
    path = record_internal_error(error, args.command, argv, _project_root(args.config))
    if path is None:
        import traceback

        traceback.print_exception(error)
    where = f"full traceback in {path}" if path else "traceback above"
    print(
        f"internal error in `{args.command}` (a bug, not your input): {one_line(error)}; {where}",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _project_root(config: str | None) -> Path | None:
    """The folder above configs/ (as `load_config` sees it), or None when there is no config to go by."""
    from .core.config import find_config

    try:
        return (Path(config) if config else find_config()).resolve().parent.parent
    except Exception:  # no config found: the error file goes to the temporary folder
        return None
