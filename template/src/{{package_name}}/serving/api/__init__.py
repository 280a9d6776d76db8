"""The HTTP service: `create_app()` builds it; `serve` runs it with uvicorn."""
