"""The HTTP service: `create_app()` (`app`) builds it; `serve` runs it with uvicorn. The modules:

- `app`: the application factory, its routers, middleware and error handlers;
- `settings`: the `api:` settings completed from the environment (the key);
- `deps`: the dependencies of the routes (state, API key, readiness, a JSON body checked by its model);
- `schemas`: request and response models built from the data contract (and the outcome model);
- `answers`: the answers that do not depend on the contract (health, readiness, model info, errors);
- `routes`: one module per resource (health, model, predict, feedback, metrics);
- `fast_lane`: the scoring routes served without FastAPI's routing;
- `deployment`: one model version ready to answer (model, scorer, explainer, request models), immutable;
- `state`: what a process holds while it runs (the deployment, batchers, logs) and scoring;
- `model_watch`: models/current.json polled, so that a running server switches versions without downtime;
- `batching`: micro-batching of concurrent requests into one model call (one model per call);
- `shadow`: the shadow version scoring every predicted record off the request path, into logs/shadow/;
- `prediction_ids`: the unique `prediction_id` of each scored record;
- `prediction_log`, `writer`: the prediction log (and the prediction index), written by a background thread;
- `feedback`: outcomes sent back, matched against the prediction index and stored;
- `metrics`, `middleware`, `access_log`: Prometheus metrics, request ids and limits, the access log.
"""
