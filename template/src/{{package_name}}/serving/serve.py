"""`serve`: run the API with uvicorn, in one process or several (`--workers N`).

Workers are separate processes, each building the app with `api.app:create_app` and loading the model
once. They find the project through $PROJECT_CONFIG, and with more than one worker the Prometheus metrics
of all of them are added up through files in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ..core.config import CONFIG_RELATIVE_PATH, Config
from .api.access_log import configure_logging
from .api.metrics import MULTIPROCESS_ENV
from .api.settings import check_can_start, load_settings

APP_FACTORY = f"{__package__}.api.app:create_app"
KEEP_ALIVE_SECONDS = 75


def run_server(config: Config, host: str | None = None, port: int | None = None, workers: int = 1) -> None:
    """Start uvicorn and return when it stops (Ctrl+C or SIGTERM)."""
    import uvicorn

    settings = load_settings(config)
    check_can_start(settings)  # before any worker starts: one clear message, exit code 2
    os.environ["PROJECT_CONFIG"] = str(config.root / CONFIG_RELATIVE_PATH)
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="prometheus-")
        os.environ[MULTIPROCESS_ENV] = metrics_dir
    configure_logging()
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host or settings.host,
            port=settings.port if port is None else port,
            workers=workers,
            access_log=False,  # the app writes its own JSON access log, with the request id
            log_config=None,  # and formats uvicorn's messages the same way
            server_header=False,
            timeout_graceful_shutdown=10,
            # Idle keep-alive connections stay open longer than a load balancer's own idle timeout (60 s on
            # most): a server that closes first races the balancer's next request on that connection,
            # which the client then sees as a dropped connection (a 502 behind the balancer).
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
