"""The `audit` command: load the data, run the checks, infer the data contract, then write the four outputs
(reports/audit/audit.html and audit.json, configs/schema.json, docs/data_dictionary.md) and print the
verdict. This module wires the others; it holds no check of its own."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..artifacts import files as artifacts
from ..artifacts.audit_summary import AUDIT_VERSION, AuditSummary
from ..artifacts.paths import DATA_DICTIONARY, ReportFolder
from ..core.config import Config
from ..core.progress import say, step
from ..core.wording import count
from ..data import contract as contract_mod
from ..data.tables import file_sha256
from .checks import detect, load, with_contract
from .common import json_ready
from .dictionary import data_dictionary
from .large import count_table, is_large, load_sample
from .report import build_report
from .scope import with_exact_counts
from .tables import exclusions, verdict


def run_audit(config: Config) -> AuditSummary:
    """Audit the configured data and write the report, the summary, the data contract and the data
    dictionary. Everything is computed before anything is written, and each file is replaced atomically,
    so a failure leaves the previous outputs as they were. Returns the summary (audit.json)."""
    started = time.perf_counter()
    large = is_large(config)
    with step(f"{'sampling' if large else 'loading'} {config.data_path}"):
        frame = load_sample(config) if large else load(config)
        data_sha256 = file_sha256(config.data_path)
    say(f"  {len(frame):,} rows{' sampled' if large else ''}, {frame.shape[1]} columns")
    previous = contract_mod.load_contract(config.schema_path)
    findings = detect(frame, config)
    contract = contract_mod.infer_contract(frame, config, exclusions(findings), previous=previous)
    findings = with_contract(findings, contract, config, frame)
    if large:
        with step("counting every row"):
            findings = with_exact_counts(findings, count_table(config, findings), frame, config)
    outputs = _outputs(config)
    summary = _summary(frame, config, findings, contract, data_sha256, outputs)
    with step("drawing the report"):
        report = build_report(frame, config, summary, contract)
    dictionary = data_dictionary(summary, contract)
    summary = dataclasses.replace(summary, duration_seconds=round(time.perf_counter() - started, 2))
    artifacts.write_atomic(outputs["html"], report)
    artifacts.write_json(outputs["schema"], contract.to_json())
    artifacts.write_atomic(outputs["data_dictionary"], dictionary)
    summary.write(outputs["json"])
    _say_verdict(summary)
    return summary


def _outputs(config: Config) -> dict[str, Path]:
    """The files the audit writes, under the keys audit.json lists them by."""
    reports = ReportFolder(config.reports_dir)
    return {
        "html": reports.audit_html,
        "json": reports.audit_json,
        "schema": config.schema_path,
        "data_dictionary": config.docs_dir / DATA_DICTIONARY,
    }


def _summary(
    frame: pd.DataFrame,
    config: Config,
    findings: dict[str, Any],
    contract: contract_mod.Contract,
    data_sha256: str,
    outputs: dict[str, Path],
) -> AuditSummary:
    """audit.json: the findings, the verdict, the exclusions and features, and what was audited when."""
    payload = json_ready(
        {
            "audit_version": AUDIT_VERSION,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "project": config.project_name,
            "data": {
                "path": config.data.path,
                "sha256": data_sha256,
                "rows": findings["dataset"]["rows"],
                "columns": frame.shape[1],
            },
            "verdict": verdict(findings),
            "exclusions": exclusions(findings),
            "features": contract.feature_names(),
            "schema_hash": contract.schema_hash,
            "findings": findings,
            "outputs": {key: _relative(path, config.root) for key, path in outputs.items()},
        }
    )
    return AuditSummary.from_dict(payload)


def _say_verdict(summary: AuditSummary) -> None:
    say(f"audit: {summary.verdict.message}")
    for issue in summary.findings["issues"]:
        if issue["severity"] == "warning":
            say(f"  - {issue['column'] + ': ' if issue['column'] else ''}{issue['summary']}")
    features = count(len(summary.features), "feature column")
    say(f"  {features}, {len(summary.exclusions):,} left out by the audit")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
