"""What model answers: version, training time, features with their types, metrics."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import Ready
from ..schemas import ErrorResponse, FeatureInfo, ModelInfo

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelInfo, responses={503: {"model": ErrorResponse}})
async def model_info(state: Ready) -> ModelInfo:
    metadata = state.trained.metadata
    fields = set(FeatureInfo.model_fields)
    return ModelInfo(
        model_version=state.version,
        trained_at=metadata.trained_at,
        problem_type=state.trained.problem_type,
        model_family=metadata.model_family,
        target=metadata.target,
        classes=metadata.classes,
        positive_class=metadata.positive_class,
        features=[
            FeatureInfo(**{key: value for key, value in feature.items() if key in fields})
            for feature in state.trained.input_features
        ],
        metrics=metadata.metrics,
        gate=metadata.gate.to_json(),
        explanation=state.explain_reason or f"SHAP contributions on the {state.explainer.scale} scale",
        scoring=state.scorer.encoder_note,
    )
