"""Prometheus metrics: requests and latency per route, predictions, input warnings (and unseen categories,
their older form), batching, the model
(and its switches), the shadow, the prediction log, outcomes sent back (feedback).

With several worker processes (`serve --workers N`) each process writes its values to files in
$PROMETHEUS_MULTIPROC_DIR (set by `serve`) and /metrics adds them up, so a scrape sees the whole server
whichever worker answers it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from ..input_warnings import UNSEEN_CATEGORY

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
disable_created_metrics()  # the *_created series only add noise to every scrape


class Metrics:
    """The service's metrics, in a registry of its own (one per app)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the response, by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.predicted_classes = Counter(
            "predictions",
            "Predictions by predicted class (classification)",
            ["predicted_class"],
            registry=registry,
        )
        self.predicted_values: Histogram | None = None  # regression: made once the model's range is known
        self.unseen = Counter(
            "unseen_categories",
            "Categorical values never seen in training (accepted; the model ignores them)",
            ["feature"],
            registry=registry,
        )
        self.input_warnings = Counter(
            "input_warnings",
            "Warnings answered with predictions, by feature and kind: out_of_range, unseen_category, missing "
            "(a value where training gave the model no evidence)",
            ["feature", "kind"],
            registry=registry,
        )
        self.batch_records = Histogram(
            "batch_records",
            "Records per model call (micro-batching)",
            ["endpoint"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_requests = Histogram(
            "batch_requests",
            "Requests per model call",
            ["endpoint"],
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.model_info = Gauge(
            "model_info",
            "The model being served (value 1)",
            ["model_version", "problem_type", "model_family"],
            registry=registry,
            multiprocess_mode="max",
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 when the model is loaded and verified",
            registry=registry,
            multiprocess_mode="min",
        )
        self.model_switches = Counter(
            "model_switches", "Switches to another model version while running", registry=registry
        )
        self.model_switch_failures = Counter(
            "model_switch_failures",
            "Model versions named by models/current.json that failed their check or their load (not served)",
            ["role"],
            registry=registry,
        )
        for role in ("current", "shadow"):  # shown at 0 from the start
            self.model_switch_failures.labels(role)
        self.shadow_scored = Counter(
            "shadow_records_scored", "Records scored by the shadow model", registry=registry
        )
        self.shadow_dropped = Counter(
            "shadow_records_dropped",
            "Records not shadow-scored or not logged: the shadow queue (api.shadow_queue_records) was full, "
            "or the shadow log could not be written",
            registry=registry,
        )
        self.shadow_failures = Counter(
            "shadow_records_failed", "Records the shadow model failed to score", registry=registry
        )
        self.prediction_log_dropped = Counter(
            "prediction_log_dropped",
            "Prediction log entries (records) not logged: the writer fell behind, or the log could not be "
            "written",
            registry=registry,
        )
        self.prediction_log_writable = Gauge(
            "prediction_log_writable",
            "1 unless the last write of the prediction log failed (then /ready answers 503)",
            registry=registry,
            multiprocess_mode="min",
        )
        self.prediction_log_writable.set(1)
        self.feedback_received = Counter(
            "feedback_outcomes_received", "Outcomes received and stored by /v1/feedback", registry=registry
        )
        self.feedback_matched = Counter(
            "feedback_outcomes_matched",
            "Outcomes of /v1/feedback that matched a logged prediction",
            registry=registry,
        )
        self.feedback_unknown = Counter(
            "feedback_outcomes_unknown",
            "Outcomes of /v1/feedback that named no logged prediction (stored all the same)",
            registry=registry,
        )
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def set_model(self, version: str, problem_type: str, family: str, ready: bool) -> None:
        self.model_info.labels(version, problem_type, family).set(1)
        self.model_ready.set(1 if ready else 0)

    def unset_model(self, version: str, problem_type: str, family: str) -> None:
        """The model switched away from: its series leaves the gauge (set to 0 with several processes,
        whose values live in files: the others may still serve it, and `max` adds them up)."""
        if os.environ.get(MULTIPROCESS_ENV):
            self.model_info.labels(version, problem_type, family).set(0)
        else:
            self.model_info.remove(version, problem_type, family)

    def use_value_buckets(self, reference_predictions: Iterable[float] | None) -> None:
        """Regression: a histogram of predicted values, with buckets at the deciles of the out-of-fold
        predictions made in training, so that a shift of the predictions shows at a glance."""
        buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS
        values = sorted(reference_predictions or ())
        if len(values) >= 20:
            deciles = {_round(values[int(len(values) * q / 10)]) for q in range(1, 10)}
            buckets = (*sorted(deciles), float("inf"))
        self.predicted_values = Histogram(
            "predicted_value", "Predicted values (regression)", buckets=buckets, registry=self.registry
        )

    def count_predictions(self, labels: list[Any]) -> None:
        if self.predicted_values is not None:
            for value in labels:
                self.predicted_values.observe(value)
            return
        counts: dict[Any, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        for label, count in counts.items():
            self.predicted_classes.labels(str(label)).inc(count)

    def count_warnings(self, counts: dict[tuple[str, str], int], predicted: bool = True) -> None:
        """Input warnings by (feature, kind): counted as `input_warnings` for predictions (`predicted`), and
        their unseen categories as `unseen_categories` too (explanations included, as always)."""
        for (feature, kind), count in counts.items():
            if predicted:
                self.input_warnings.labels(feature, kind).inc(count)
            if kind == UNSEEN_CATEGORY:
                self.unseen.labels(feature).inc(count)

    def count_feedback(self, received: int, matched: int, unknown: int) -> None:
        self.feedback_received.inc(received)
        self.feedback_matched.inc(matched)
        self.feedback_unknown.inc(unknown)

    def observe_batch(self, endpoint: str, requests: int, records: int) -> None:
        self.batch_requests.labels(endpoint).observe(requests)
        self.batch_records.labels(endpoint).observe(records)

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def _round(value: float) -> float:
    """Three significant digits: bucket bounds that read well."""
    return float(f"{value:.3g}")
