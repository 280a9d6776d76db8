"""What the service holds while it runs: the deployment that answers (the verified model, its scorer and
explainer, its request models), the shadow, the batchers and the prediction log. The model is loaded at
start-up and again whenever models/current.json names another version (`model_watch`): the new deployment
replaces the old one in one assignment, and a request uses the deployment it read when it began, from
validation to answer. A version that fails its check or its load later is not switched to: the old one
keeps serving.

A model that is missing or fails its checksum at start-up leaves the process up and not ready, with the
reason. So does a prediction log that cannot be written, for as long as it cannot: predictions are still
answered, but a load balancer should send the traffic elsewhere.

Reasons are answered to anyone (/ready needs no key): they carry no file system paths, only file names.
The full reason, paths included, is in the server's log for the operator."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...artifacts.metadata import ModelMetadata
from ...artifacts.model_store import ModelStore, Pointer
from ...artifacts.prediction_index import index_path
from ...core.config import Config
from ..input_warnings import tally
from ..scoring import Coverage, Scorer
from ..trained_model import TrainedModel
from .batching import MicroBatcher
from .deployment import Deployment, build_deployment, load_version, reference_predictions
from .metrics import Metrics
from .model_watch import ModelWatcher
from .prediction_ids import PredictionIds
from .prediction_log import PredictionLog
from .settings import ApiSettings
from .shadow import Shadow

logger = logging.getLogger(f"{__package__.split('.')[0]}.api")
# SHAP's tree algorithm costs about a millisecond per record and keeps the interpreter lock while it runs:
# explanation batches stay small so that other requests are not held up for long.
EXPLAIN_BATCH_RECORDS = 32
# An absolute path (POSIX, home-relative or Windows): in quotes (where it may hold spaces), or where a word
# begins. Its last part is the file name.
_ABSOLUTE_PATH = re.compile(
    r"(?<=')(?:~|[A-Za-z]:)?[/\\][^']+(?=')"
    r'|(?<=")(?:~|[A-Za-z]:)?[/\\][^"]+(?=")'
    r"|(?<![^\s(\[=,])(?:~|[A-Za-z]:)?[/\\][^\s'\"()\[\],;]+"
)


class NotScorable(Exception):
    """Valid records the model still cannot score: values so far outside the training data that its
    output is not a finite number (`indices`), or that the model refuses them (a forest works in 32-bit
    floats). A 422 with the reason, rather than a 500 or a NaN in the JSON."""

    def __init__(self, reason: str, indices: list[int] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.indices = indices


@dataclass
class Scored:
    """The answers of one request."""

    labels: list[Any]
    probabilities: list[dict[str, float]] | None
    prediction_ids: list[str]
    warnings: list[list[dict[str, str]]]  # per record: its input warnings (`input_warnings`)
    coverage: Coverage | None = None  # the level asked for, when the answer has intervals or sets
    uncertainty: list[Any] | None = None  # per record: [low, high] or the set of classes


@dataclass
class ServingState:
    config: Config
    settings: ApiSettings
    metrics: Metrics
    metadata: ModelMetadata | None = None
    deployment: Deployment | None = None  # what answers now: read once per request
    shadow: Shadow | None = None  # what also scores every predicted record, off the request path
    status: str = "loading"
    reason: str | None = "the model is loading"
    switch_error: str | None = None  # why the version the pointer names is not served (None: it is)
    shadow_error: str | None = None  # why the shadow the pointer names does not run
    prediction_log: PredictionLog | None = None
    prediction_ids: PredictionIds = field(default_factory=PredictionIds)
    _batchers: dict[str, MicroBatcher] = field(default_factory=dict)
    _watcher: ModelWatcher | None = None
    _pointer: Pointer = field(default_factory=Pointer)  # as read at the last load or switch
    on_switch: Any = None  # called with each new deployment (the app rebuilds its documentation)

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def version(self) -> str:
        return self.deployment.version if self.deployment else "none"

    @property
    def trained(self) -> TrainedModel | None:
        return self.deployment.trained if self.deployment else None

    @property
    def scorer(self) -> Scorer | None:
        return self.deployment.scorer if self.deployment else None

    @property
    def explainer(self) -> Any:
        return self.deployment.explainer if self.deployment else None

    @property
    def explain_reason(self) -> str | None:
        if self.deployment is None:
            return self.reason
        reason = self.deployment.explain_reason
        return public_reason(reason) if reason else None

    @property
    def unready_reason(self) -> str | None:
        """Why the server should not take traffic now (what /ready answers with 503), or None. The scoring
        routes ask only `ready`: they answer while the log cannot be written."""
        if not self.ready:
            return public_reason(self.reason or self.status)
        failure = self.prediction_log.failure if self.prediction_log is not None else None
        if failure is not None:
            return public_reason(f"the prediction log cannot be written: {failure}")
        return None

    # Start and stop -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load in a worker thread (the loop stays responsive), then start the batchers, the log, the shadow
        and the watch of the model pointer."""
        self._watcher = ModelWatcher(self.config.models_dir, self.settings.model_poll_seconds, self.follow)
        self._watcher.mark_seen()  # before the pointer is read: a change meanwhile is followed
        await asyncio.get_running_loop().run_in_executor(None, self.load)
        # The libraries and the model are some 250,000 objects that live as long as the process; a full
        # garbage collection over them takes ~150 ms, a stall every request in flight would feel. Freezing
        # them leaves them out of every collection from now on.
        gc.collect()
        gc.freeze()
        if self.ready:
            self._begin_serving()
            await self._follow_shadow(self._pointer)
        self._watcher.start()

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
        for batcher in self._batchers.values():
            await batcher.stop()
        self._batchers.clear()
        if self.shadow is not None:
            shadow, self.shadow = self.shadow, None
            await asyncio.get_running_loop().run_in_executor(None, shadow.stop)
        if self.prediction_log is not None:
            self.prediction_log.stop()

    def load(self) -> None:
        """The current model's deployment; on failure the status says why (the process stays up)."""
        try:
            self._pointer = ModelStore(self.config.models_dir).read_pointer()
            trained = load_version(self.config, self._pointer.current)
            deployment = build_deployment(self.config, self.settings, trained)
        except Exception as error:  # a missing or tampered model, or a file that is not a model at all
            reason = str(error) or type(error).__name__
            self.status, self.reason = "unavailable", public_reason(reason)
            self.metrics.model_ready.set(0)
            logger.error("model not loaded: %s", reason)
            return
        trained = deployment.trained
        if not trained.is_classification:
            self.metrics.use_value_buckets(reference_predictions(trained.folder, trained.metadata.reference))
        self._serve(deployment)
        logger.info(
            "model loaded", extra={"model_version": self.version, "scoring": deployment.scorer.encoder_note}
        )

    def _serve(self, deployment: Deployment) -> None:
        """Answer with `deployment` from the next request on: one assignment, the metrics follow."""
        old, self.deployment = self.deployment, deployment
        self.status, self.reason, self.switch_error = "ready", None, None
        if old is not None:
            self.metrics.unset_model(*_model_labels(old))
        self.metrics.set_model(*_model_labels(deployment), True)
        if self.prediction_log is not None:
            self.prediction_log.positive_class = deployment.trained.metadata.positive_class

    def _begin_serving(self) -> None:
        """The prediction log and the batchers, once a model is there to serve (at start-up or later)."""
        if self._batchers:
            return
        self.prediction_log = PredictionLog(
            self.config.prediction_log_dir,
            max_bytes=self.settings.prediction_log_max_bytes,
            max_files=self.settings.prediction_log_max_files,
            positive_class=self.trained.metadata.positive_class if self.trained else None,
            on_drop=self.metrics.prediction_log_dropped.inc,
            on_writable=lambda writable: self.metrics.prediction_log_writable.set(1 if writable else 0),
            index=index_path(self.config.prediction_log_dir.parent),
            id_columns=self.config.data.id_columns,
        )
        self.prediction_log.start()
        wait, most = self.settings.batch_wait_ms / 1000, self.settings.batch_max_records
        self._batchers["predict"] = self._batcher("predict", self._predict_batch, wait, most)
        self._batchers["explain"] = self._batcher(
            "explain", self._explain_batch, wait, min(most, EXPLAIN_BATCH_RECORDS)
        )
        for batcher in self._batchers.values():
            batcher.start()

    def _batcher(self, name: str, process: Any, wait: float, max_records: int) -> MicroBatcher:
        batcher = MicroBatcher(
            process,
            max_records=max_records,
            max_wait=wait,
            name=name,
            thread_initializer=_one_thread_per_call,
            keyed=True,  # by deployment: one model call never mixes two models
        )
        batcher.on_batch = lambda requests, records: self.metrics.observe_batch(name, requests, records)
        return batcher

    # Following the model pointer ----------------------------------------------------------------------------

    async def follow(self, pointer: Pointer | Exception) -> None:
        """The pointer changed: switch to the version it names, and to its shadow (or none)."""
        if isinstance(pointer, Exception):
            self._switch_failed("current", None, str(pointer))
            return
        self._pointer = pointer
        if pointer.current is not None and pointer.current != self.version:
            await self._switch(pointer.current)
        elif pointer.current == self.version:
            self.switch_error = None  # the pointer names the model served (again)
        await self._follow_shadow(pointer)

    async def _switch(self, version: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            deployment = await loop.run_in_executor(None, self._load_deployment, version, True)
        except Exception as error:  # damaged, tampered or unloadable: the old model keeps answering
            self._switch_failed("current", version, str(error) or type(error).__name__)
            return
        was = self.version
        self._serve(deployment)
        self._begin_serving()  # a server that started without a model begins now
        self.metrics.model_switches.inc()
        logger.info("model switched", extra={"model_version": version, "previous_version": was})
        if self.on_switch is not None:
            self.on_switch(deployment)

    def _load_deployment(self, version: str, explain: bool) -> Deployment:
        trained = load_version(self.config, version)
        return build_deployment(self.config, self.settings, trained, explain=explain, reuse=self.deployment)

    async def _follow_shadow(self, pointer: Pointer) -> None:
        """Start, replace or stop the shadow so that it is the version the pointer names."""
        wanted = pointer.shadow if pointer.shadow != self.version else None
        running = self.shadow.version if self.shadow is not None else None
        if wanted == running:
            self.shadow_error = None
            return
        loop = asyncio.get_running_loop()
        old, self.shadow = self.shadow, None  # from now on nothing more is queued to the old one
        if old is not None:
            await loop.run_in_executor(None, old.stop)
            logger.info("shadow stopped", extra={"model_version": old.version})
        self.shadow_error = None
        if wanted is None:
            return
        try:
            deployment = await loop.run_in_executor(None, self._load_deployment, wanted, False)
        except Exception as error:  # the shadow never affects answers: reported, not run
            self._switch_failed("shadow", wanted, str(error) or type(error).__name__)
            return
        shadow = Shadow(self.config, self.settings, self.metrics, deployment)
        shadow.start()
        self.shadow = shadow
        logger.info("shadow started", extra={"model_version": wanted})

    def _switch_failed(self, role: str, version: str | None, reason: str) -> None:
        what = f"version {version}" if version else "the model pointer"
        message = public_reason(f"{what} not loaded, still serving {self.version}: {reason}")
        if role == "shadow":
            message = public_reason(f"shadow {what} not started: {reason}")
            self.shadow_error = message
        else:
            self.switch_error = message
        self.metrics.model_switch_failures.labels(role).inc()
        logger.error("%s %s not switched to: %s", role, version or "pointer", reason)

    # Scoring ------------------------------------------------------------------------------------------------

    async def predict(
        self,
        deployment: Deployment,
        records: list[dict[str, Any]],
        request_id: str,
        ids: list[dict[str, Any]] | None = None,
        coverage: Coverage | None = None,
    ) -> Scored:
        """The answers of `deployment` for `records`, each with a new prediction_id, queued to the log with
        the values of the ID columns each record carried (`ids`, parallel to `records`), and to the shadow.
        With `coverage`, each answer has its conformal interval or set at that level (logged too)."""
        try:
            rows = await self._batchers["predict"].submit(records, key=deployment)
        except ValueError as error:  # the model's own input checks (the request alone: see batching)
            raise NotScorable(f"the model cannot score these records: {error}") from error
        _check_finite([row is not None for row in rows])
        labels, warnings = [row[0] for row in rows], [row[2] for row in rows]
        probabilities = [row[1] for row in rows] if deployment.trained.is_classification else None
        uncertainty = None
        if coverage is not None:
            numbers = None
            if probabilities is not None:
                numbers = np.array([list(row.values()) for row in probabilities])
            uncertainty = deployment.scorer.uncertainty(labels, numbers, coverage)
        prediction_ids = self.prediction_ids.take(len(records))
        if self.prediction_log is not None:
            self.prediction_log.add(
                request_id, deployment.version, records, labels, probabilities, prediction_ids, ids,
                (coverage.level, uncertainty) if coverage is not None else None, warnings,
            )  # fmt: skip
        shadow = self.shadow
        if shadow is not None:
            shadow.offer(records, prediction_ids, request_id, ids)
        return Scored(labels, probabilities, prediction_ids, warnings, coverage, uncertainty)

    async def explain(self, deployment: Deployment, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            explanations = await self._batchers["explain"].submit(records, key=deployment)
        except ValueError as error:
            raise NotScorable(f"the model cannot explain these records: {error}") from error
        _check_finite(
            [
                math.isfinite(answer["base_value"])
                and all(map(math.isfinite, answer["contributions"].values()))
                for answer in explanations
            ]
        )
        return explanations

    def _predict_batch(
        self, records: list[dict[str, Any]], deployment: Deployment
    ) -> list[tuple[Any, dict[str, float] | None, list[dict[str, str]]] | None]:
        """Worker thread: one model call for the records of many requests. Per record (prediction,
        probabilities, input warnings), or None when the model's output is not finite."""
        labels, probabilities, finite = deployment.answers(records)
        warnings = deployment.scorer.judge.from_records(records)
        self.metrics.count_warnings(tally(warnings))
        rows = probabilities if probabilities is not None else [None] * len(labels)
        self.metrics.count_predictions([label for label, ok in zip(labels, finite, strict=True) if ok])
        answers = zip(labels, rows, warnings, finite, strict=True)
        return [(label, row, warned) if ok else None for label, row, warned, ok in answers]

    def _explain_batch(self, records: list[dict[str, Any]], deployment: Deployment) -> list[dict[str, Any]]:
        scorer, explainer = deployment.scorer, deployment.explainer
        self.metrics.count_warnings(tally(scorer.judge.from_records(records)), predicted=False)
        if scorer.encoder is not None:  # checked against the Pipeline at start-up
            return explainer.explain_matrix(scorer.encoder.transform(records))
        return explainer.explain(scorer.frame(records))


def _model_labels(deployment: Deployment) -> tuple[str, str, str]:
    trained = deployment.trained
    return deployment.version, trained.problem_type, str(trained.metadata.model_family)


def public_reason(reason: str) -> str:
    """The reason with every absolute path replaced by its file name: enough to act on, while the layout
    of the machine stays private."""
    return _ABSOLUTE_PATH.sub(lambda match: re.split(r"[/\\]", match.group().rstrip("/\\"))[-1], reason)


def _check_finite(finite: list[bool]) -> None:
    bad = [index for index, ok in enumerate(finite) if not ok]
    if bad:
        reason = (
            "the model's output for this record is not a finite number; are its values far outside the data?"
        )
        raise NotScorable(reason, bad)


def _one_thread_per_call() -> None:
    """Model calls run one at a time on their own thread: native thread pools (OpenMP, BLAS) would only
    fight the web server for the cores. Thread-local, so it is set on the worker thread itself."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
