"""What the service holds while it runs: the verified model, its scorer and explainer, the batchers and
the prediction log. Loaded once at start-up; a model that is missing or fails its checksum leaves the
process up and not ready, with the reason. So does a prediction log that cannot be written, for as long as
it cannot: predictions are still answered, but a load balancer should send the traffic elsewhere.

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

from ...artifacts.metadata import ModelMetadata, ReferenceInfo
from ...artifacts.paths import ModelFolder
from ...artifacts.prediction_index import index_path
from ...core.config import Config
from ..scoring import Predictions, Scorer
from ..trained_model import TrainedModel, load_trained, read_metadata
from .batching import MicroBatcher
from .metrics import Metrics
from .prediction_ids import PredictionIds
from .prediction_log import PredictionLog
from .settings import ApiSettings

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


@dataclass
class ServingState:
    config: Config
    settings: ApiSettings
    metrics: Metrics
    metadata: ModelMetadata | None = None
    trained: TrainedModel | None = None
    scorer: Scorer | None = None
    explainer: Any = None
    status: str = "loading"
    reason: str | None = "the model is loading"
    explain_reason: str | None = "the model is loading"
    prediction_log: PredictionLog | None = None
    prediction_ids: PredictionIds = field(default_factory=PredictionIds)
    _batchers: dict[str, MicroBatcher] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def version(self) -> str:
        return self.trained.version if self.trained else "none"

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
        """Load in a worker thread (the loop stays responsive), then start the batchers and the log."""
        await asyncio.get_running_loop().run_in_executor(None, self.load)
        # The libraries and the model are some 250,000 objects that live as long as the process; a full
        # garbage collection over them takes ~150 ms, a stall every request in flight would feel. Freezing
        # them leaves them out of every collection from now on.
        gc.collect()
        gc.freeze()
        if not self.ready:
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
        if self.explainer is not None:
            most = min(most, EXPLAIN_BATCH_RECORDS)
            self._batchers["explain"] = self._batcher("explain", self._explain_batch, wait, most)
        for batcher in self._batchers.values():
            batcher.start()

    async def stop(self) -> None:
        for batcher in self._batchers.values():
            await batcher.stop()
        self._batchers.clear()
        if self.prediction_log is not None:
            self.prediction_log.stop()

    def load(self) -> None:
        """Model, scorer and explainer; on failure the status says why (the process stays up)."""
        try:
            self.metadata = self.metadata or read_metadata(self.config)
            self.trained = load_trained(self.config, self.metadata)
            self.scorer = Scorer(self.trained)
        except Exception as error:  # a missing or tampered model, or a file that is not a model at all
            reason = str(error) or type(error).__name__
            self.status, self.reason = "unavailable", public_reason(reason)
            self.explain_reason = self.reason
            self.metrics.model_ready.set(0)
            logger.error("model not loaded: %s", reason)
            return
        metadata = self.trained.metadata
        if not self.trained.is_classification:
            self.metrics.use_value_buckets(_reference_predictions(self.trained.folder, metadata.reference))
        self.status, self.reason = "ready", None
        self.metrics.set_model(self.version, self.trained.problem_type, str(metadata.model_family), True)
        logger.info(
            "model loaded",
            extra={"model_version": self.version, "scoring": self.scorer.encoder_note},
        )
        self._load_explainer()

    def _load_explainer(self) -> None:
        try:
            from ..explain import build_explainer

            background = _reference_rows(
                self.trained.folder,
                self.trained.metadata.reference,
                [f["name"] for f in self.trained.input_features],
            )
            self.explainer = build_explainer(self.trained.pipeline, self.trained.metadata, background)
            self.explain_reason = None
        except Exception as error:  # explanations are optional: predictions go on without them
            self.explainer = None
            self.explain_reason = public_reason(f"explanations are unavailable: {error}")
            logger.error("explainer not built: %s", error)

    def _batcher(self, name: str, process: Any, wait: float, max_records: int) -> MicroBatcher:
        batcher = MicroBatcher(
            process,
            max_records=max_records,
            max_wait=wait,
            name=name,
            thread_initializer=_one_thread_per_call,
        )
        batcher.on_batch = lambda requests, records: self.metrics.observe_batch(name, requests, records)
        return batcher

    # Scoring ------------------------------------------------------------------------------------------------

    async def predict(
        self, records: list[dict[str, Any]], request_id: str, ids: list[dict[str, Any]] | None = None
    ) -> Scored:
        """The answers for `records`, each with a new prediction_id, queued to the log with the values of
        the ID columns each record carried (`ids`, parallel to `records`)."""
        try:
            rows = await self._batchers["predict"].submit(records)
        except ValueError as error:  # the model's own input checks (the request alone: see batching)
            raise NotScorable(f"the model cannot score these records: {error}") from error
        _check_finite([row is not None for row in rows])
        labels = [label for label, _ in rows]
        probabilities = [classes for _, classes in rows] if self.trained.is_classification else None
        prediction_ids = self.prediction_ids.take(len(records))
        if self.prediction_log is not None:
            self.prediction_log.add(
                request_id, self.version, records, labels, probabilities, prediction_ids, ids
            )
        return Scored(labels, probabilities, prediction_ids)

    async def explain(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            explanations = await self._batchers["explain"].submit(records)
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
        self, records: list[dict[str, Any]]
    ) -> list[tuple[Any, dict[str, float] | None] | None]:
        """Worker thread: one model call for the records of many requests. Per record (prediction,
        probabilities), or None when the model's output is not finite."""
        predictions: Predictions = self.scorer.predict_records(records)
        self.metrics.count_unseen(self.scorer.unseen_categories(records))
        labels = predictions.labels
        if predictions.probabilities is None:
            rows: list[dict[str, float] | None] = [None] * len(labels)
            finite = [math.isfinite(value) for value in labels]
        else:
            keys = [str(label) for label in self.trained.classes]
            rows = [dict(zip(keys, row, strict=True)) for row in predictions.probabilities.tolist()]
            finite = np.isfinite(predictions.probabilities).all(axis=1).tolist()
        self.metrics.count_predictions([label for label, ok in zip(labels, finite, strict=True) if ok])
        return [(label, row) if ok else None for label, row, ok in zip(labels, rows, finite, strict=True)]

    def _explain_batch(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.metrics.count_unseen(self.scorer.unseen_categories(records))
        if self.scorer.encoder is not None:  # checked against the Pipeline at start-up
            return self.explainer.explain_matrix(self.scorer.encoder.transform(records))
        return self.explainer.explain(self.scorer.frame(records))


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


def _reference_rows(folder: ModelFolder, reference: ReferenceInfo, columns: list[str]) -> Any:
    """Training rows kept by `train` (models/reference.parquet): the linear explainer's baseline."""
    path = folder.root / reference.file
    if not path.is_file():  # missing, or not a regular file (a FIFO would block the start for ever)
        return None
    import pandas as pd

    frame = pd.read_parquet(path)
    return frame[[name for name in columns if name in frame.columns]]


def _reference_predictions(folder: ModelFolder, reference: ReferenceInfo) -> list[float] | None:
    """The out-of-fold predictions kept in the reference, under the name `train` gave them (not always
    `prediction`: a data column may have that name)."""
    path = folder.root / reference.file
    if not path.is_file():
        return None
    try:
        import pandas as pd

        column = reference.prediction_column
        return pd.read_parquet(path, columns=[column])[column].astype(float).tolist()
    except Exception:  # no reference sample: default buckets
        return None
