# Template development: `make test`, `make lint`, `make demo`. Only python3 (3.11+) is needed up front:
# uv is installed with pip when it is missing, and uv brings everything else.

PYTHON ?= python3
# `uv` when it is on PATH, else the copy that pip installs into the user site, called through Python.
UV ?= $(shell command -v uv >/dev/null 2>&1 && echo uv || echo "$(PYTHON) -m uv")
# Two workers pay off on a 2-core machine; `make test PYTEST_ARGS=` runs in one process. `loadgroup`
# keeps the tests of an `xdist_group` on one worker, so their shared fixtures are built once.
PYTEST_ARGS ?= -n auto --dist loadgroup
DEMO := build/demo
# The supply-chain tools, at the versions the generated projects use (template/Makefile.jinja), run with
# `uv tool run`: not part of the dev environment.
PIP_AUDIT := pip-audit==2.10.1
DETECT_SECRETS := detect-secrets==1.5.0
PIP_AUDIT_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help uv sync test test-fast lint format demo release clean lock-generated audit-deps secrets

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# pip tries the user site first; inside a virtual environment (no user site) the environment itself;
# on a system Python that refuses both (PEP 668) the user site with --break-system-packages, which only
# adds uv there and touches no system package.
uv:  ## install uv with pip when it is missing
	@$(UV) --version >/dev/null 2>&1 || { \
		echo "uv not found: installing it with pip"; \
		$(PYTHON) -m pip install --quiet --user uv 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet uv 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv \
		|| { echo "error: could not install uv with $(PYTHON) -m pip: install pip (Debian: apt-get install" \
			"python3-pip) or uv itself (https://docs.astral.sh/uv/)" >&2; exit 2; }; \
	}

sync: uv  ## the template's dev environment, exactly as locked
	@$(UV) sync --locked --quiet

test: sync  ## every template test
	$(UV) run pytest $(PYTEST_ARGS)

test-fast: sync  ## the template tests without the slow ones (no install of a generated project)
	$(UV) run pytest $(PYTEST_ARGS) -m "not slow"

lint: sync  ## ruff on the template's own Python
	$(UV) run ruff check hooks tests scripts
	$(UV) run ruff format --check hooks tests scripts

format: sync  ## apply ruff's fixes and formatting
	$(UV) run ruff check --fix hooks tests scripts
	$(UV) run ruff format hooks tests scripts

# The template's own lock (uv.lock), as the generated projects audit theirs: --strict fails when a package
# could not be looked up. The generated projects' lock is audited by their own CI (`make audit-deps`).
audit-deps: uv  ## vulnerability audit of the template's locked dev environment (pip-audit)
	@mkdir -p build
	$(UV) export --frozen --all-groups --no-emit-project --no-hashes --quiet --output-file build/requirements-audit.txt
	$(UV) tool run --from $(PIP_AUDIT) pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		--requirement build/requirements-audit.txt $(PIP_AUDIT_ARGS)

# The committed files against .secrets.baseline (audited findings pass, a new one fails), on a copy of the
# baseline so that the hook's line-number refresh (exit 3) leaves the tree alone.
secrets: uv  ## secret scan of the committed files against .secrets.baseline (detect-secrets)
	@mkdir -p build
	@cp .secrets.baseline build/secrets.baseline
	git ls-files -z | xargs -0 sh -c '$(UV) tool run --from $(DETECT_SECRETS) detect-secrets-hook \
		--baseline build/secrets.baseline "$$@"; status=$$?; [ $$status -eq 3 ] && exit 0; exit $$status' secrets
	@echo "no new secrets"

# --vcs-ref HEAD renders the last commit plus any uncommitted changes of this working tree (Copier adds
# them for a local template), so the demo always shows what is on disk. An absolute source path keeps
# `copier update` working inside build/demo.
demo: sync  ## render a project with default answers into build/demo and run the whole pipeline on it
	rm -rf $(DEMO)
	$(UV) run copier copy --trust --defaults --vcs-ref HEAD $(CURDIR) $(DEMO)
	$(MAKE) -C $(DEMO) install audit train
	$(MAKE) -C $(DEMO) api-demo
	$(MAKE) -C $(DEMO) drift-demo
	$(MAKE) -C $(DEMO) report
	@echo
	@echo "Demo project: $(DEMO)"
	@echo "  audit report     $(DEMO)/reports/audit/audit.html (and audit.json)"
	@echo "  data contract    $(DEMO)/configs/schema.json"
	@echo "  data dictionary  $(DEMO)/docs/data_dictionary.md"
	@echo "  model            $(DEMO)/models/model.skops"
	@echo "  metadata         $(DEMO)/models/metadata.json"
	@echo "  model card       $(DEMO)/reports/model_card.md"
	@echo "  experiment log   $(DEMO)/reports/experiments.jsonl"
	@echo "  prediction log   $(DEMO)/logs/predictions/"
	@echo "  drift report     $(DEMO)/reports/drift/drift.html (and drift.json)"
	@echo "  weekly summary   $$(ls $(DEMO)/reports/weekly/*.md | tail -n 1) (and .html)"
	@echo "  charter          $(DEMO)/docs/engagement.md"
	@echo "  onboarding       $(DEMO)/docs/onboarding.md"
	@echo "  model health     $(DEMO)/docs/model_health.md"
	@echo "  decisions        $(DEMO)/docs/decisions/"
	@echo "  shipping         $(DEMO)/Dockerfile, $(DEMO)/.github/workflows/, $(DEMO)/deploy/k8s/"

# Every engagement made from this template in one table: FLEET lists them (local paths or git URLs, one a
# line, `#` comments); FLEET_ARGS="--format html --output fleet.html" for a page instead of Markdown.
FLEET ?= fleet.txt
FLEET_ARGS ?=
.PHONY: fleet
fleet: sync  ## each engagement of FLEET (fleet.txt): template version, releases behind, last update, drifted files
	$(UV) run python scripts/fleet.py $(FLEET) $(FLEET_ARGS)

# A release is a commit with a dated CHANGELOG section, tagged vX.Y.Z: the tag Copier updates projects to.
release:  ## make release VERSION=X.Y.Z: date the changelog's Unreleased section, commit, tag vX.Y.Z
	@test -n "$(VERSION)" || { echo "error: give the version, e.g. make release VERSION=1.1.0" >&2; exit 2; }
	$(PYTHON) scripts/release.py $(VERSION)

# The generated project's lock names the project, so it is a template: rendered, locked, slug put back.
lock-generated: sync  ## rewrite template/uv.lock.jinja after a change of the generated dependencies
	$(UV) run python scripts/lock_generated.py

clean:  ## remove build output and caches
	rm -rf build .pytest_cache .ruff_cache
