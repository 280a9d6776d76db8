"""What model answers: version (and the shadow, and why a switch failed), training time, features with their
types, metrics, and the prediction intervals or sets it gives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ....artifacts.output_maps import Uncertainty
from ....core.config import Config
from ....training.conformal import highest_coverage
from ..answers import ErrorResponse, FeatureInfo, ModelInfo
from ..deps import UNCERTAINTY_OFF, Ready

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelInfo, responses={503: {"model": ErrorResponse}})
async def model_info(state: Ready) -> ModelInfo:
    deployment, shadow = state.deployment, state.shadow  # read once: a switch may happen meanwhile
    trained = deployment.trained
    metadata = trained.metadata
    fields = set(FeatureInfo.model_fields)
    explanation = (
        f"SHAP contributions on the {deployment.explainer.scale} scale"
        if deployment.explainer is not None
        else state.explain_reason
    )
    return ModelInfo(
        model_version=deployment.version,
        shadow_version=shadow.version if shadow is not None else None,
        switch_error=state.switch_error,
        shadow_error=state.shadow_error,
        trained_at=metadata.trained_at,
        problem_type=trained.problem_type,
        model_family=metadata.model_family,
        target=metadata.target,
        classes=metadata.classes,
        positive_class=metadata.positive_class,
        features=[
            FeatureInfo(**{key: value for key, value in feature.items() if key in fields})
            for feature in trained.input_features
        ],
        metrics=metadata.metrics,
        gate=metadata.gate.to_json(),
        explanation=explanation,
        scoring=deployment.scorer.encoder_note,
        uncertainty=_uncertainty(metadata.uncertainty, state.config),
    )


def _uncertainty(uncertainty: Uncertainty, config: Config) -> dict[str, Any]:
    """What a client needs to ask for intervals or sets: whether there are any and at which coverage."""
    if not config.uncertainty.enabled:
        return {"kind": "none", "reason": UNCERTAINTY_OFF}
    if not uncertainty.enabled:
        return {"kind": "none", "reason": uncertainty.reason}
    return {
        "kind": uncertainty.kind,
        "default_coverage": config.uncertainty.coverage,
        "highest_coverage": highest_coverage(uncertainty.rows),
        "measured": uncertainty.measured.get("levels", []),
    }
