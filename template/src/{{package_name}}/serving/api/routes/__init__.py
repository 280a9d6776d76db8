"""One module per resource: health and readiness, the model, predictions and explanations, metrics."""
