# Two commands for a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app app
PYTHON ?= $(shell command -v python3.11 || command -v python3)
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Without PUBLIC_URL, the links of e-mails and documents name the served address (PORT=5101 make run: port 5101).
export RUN_HOST := $(HOST)
export RUN_PORT := $(PORT)
# The PDF converter that run and serve start beside the server and the worker (flask pdf serve), shared by all of
# their processes: one warm LibreOffice instead of one per process (PDF_SERVER=127.0.0.1:2013 make run: another port).
PDF_SERVER ?= 127.0.0.1:2003

.PHONY: install browser office redis run serve test lint db-check bench screenshots clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Create the virtualenv, migrate, make the attendance sealing key and the trial signing certificate when missing,
## load the demo data (with a convention signed electronically when LibreOffice is there: `make office`), print the
## demo logins and serve on http://127.0.0.1:5000, with the worker beside the server (due jobs, then the outbox;
## e-mails go to the console unless MAIL_SERVER is set) and the shared PDF converter on PDF_SERVER (127.0.0.1:2003),
## which both use: the server starts once it answers
run: export PDF_SERVER := $(PDF_SERVER)
run: install
	$(FLASK) db upgrade
	$(FLASK) attendance keygen
	$(FLASK) demo load
	$(FLASK) signing init --if-missing
	@echo "\nServeur : http://$(HOST):$(PORT)/  (catalogue public : http://$(HOST):$(PORT)/catalogue/)\n"
	@# All in the background so that the shell acts on a signal at once; whatever ends first (Ctrl-C,
	@# SIGTERM, or the server stopping) takes the others with it: no worker or converter is left behind.
	@$(FLASK) pdf serve & converter=$$!; \
	trap 'kill $$server $$worker $$converter 2>/dev/null; wait' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	$(FLASK) pdf wait --pid $$converter; \
	$(FLASK) worker & worker=$$!; \
	$(FLASK) run --host $(HOST) --port $(PORT) </dev/null & server=$$!; \
	wait $$server

## Production: migrate, then gunicorn (WEB_CONCURRENCY workers, default 3, on BIND, default 127.0.0.1:8000, behind
## a reverse proxy) with the outbox worker beside it; DATABASE_URL (PostgreSQL), SECRET_KEY (32 characters or more)
## and PUBLIC_URL are required, and MAIL_SERVER (or MAIL_BACKEND=console written out, which starts with a loud warning
## that no e-mail leaves); RATELIMIT_STORAGE_URI (redis://…) shares the login limits between the workers.
## See README "Production". The shared PDF converter (PDF_SERVER, 127.0.0.1:2003) starts first, as in `make run`,
## and all stop together.
serve: export APP_ENV = production
serve: export PDF_SERVER := $(PDF_SERVER)
serve: install
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL est obligatoire (postgresql://utilisateur:motdepasse@hôte/base)." >&2; exit 1; }
	@test -n "$$SECRET_KEY" || { echo "SECRET_KEY est obligatoire (python3 -c 'import secrets; print(secrets.token_hex(32))')." >&2; exit 1; }
	@test -n "$$PUBLIC_URL" || { echo "PUBLIC_URL est obligatoire : l'adresse publique (https://formation.example.fr)." >&2; exit 1; }
	$(FLASK) db upgrade
	@# gunicorn.conf.py checks the rest before any worker starts (database, FILES_DIR, the mail server) and warns
	@# loudly without a shared RATELIMIT_STORAGE_URI or with MAIL_BACKEND=console.
	@$(FLASK) pdf serve & converter=$$!; \
	trap 'kill $$server $$worker $$converter 2>/dev/null; wait' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	$(FLASK) pdf wait --pid $$converter; \
	$(FLASK) worker & worker=$$!; \
	$(VENV)/bin/gunicorn --workers "$${WEB_CONCURRENCY:-3}" --bind "$${BIND:-127.0.0.1:8000}" \
	  --timeout "$${GUNICORN_TIMEOUT:-60}" --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
	  app:app </dev/null & server=$$!; \
	wait $$server

## Debian's chromium for the browser tests (Playwright drives it; it must not download a browser of its own).
## Quick when it is there; otherwise installed with apt-get, as root or through `sudo -n`
## (SKIP_BROWSER_TESTS=1 leaves it out, and the browser tests skip).
CHROMIUM := /usr/bin/chromium
APT_CHROMIUM := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

browser:
	@test -x $(CHROMIUM) && exit 0; \
	if [ "$$SKIP_BROWSER_TESTS" = 1 ]; then echo "SKIP_BROWSER_TESTS=1: no chromium, browser tests skipped."; exit 0; fi; \
	echo "Installing Debian's chromium for the browser tests..."; \
	if [ "$$(id -u)" = 0 ]; then sh -c '$(APT_CHROMIUM)'; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n sh -c '$(APT_CHROMIUM)'; \
	else echo "$(CHROMIUM) is missing and cannot be installed without root: run as root" \
	  "'apt-get install chromium', or set SKIP_BROWSER_TESTS=1 to leave the browser tests out." >&2; exit 1; fi; \
	test -x $(CHROMIUM) || { echo "$(CHROMIUM) still missing after apt-get install chromium." >&2; exit 1; }

## Debian's LibreOffice for the PDF documents (trainingmgr/documents/conversion/pdf.py keeps one headless soffice running
## behind unoserver, whose server runs under Debian's python3 for its `uno` module), poppler-utils' pdftotext for
## the tests, and the fonts that stand in for Word's (Carlito for Calibri, Liberation for Arial/Times).
## Quick when they are there; otherwise installed with apt-get, as root or through `sudo -n`
## (SKIP_OFFICE_TESTS=1 leaves them out, and the PDF tests skip; the application then offers DOCX only).
SOFFICE := /usr/bin/soffice
OFFICE_PACKAGES := libreoffice-writer-nogui python3-uno poppler-utils fonts-dejavu-core fonts-liberation2 fonts-crosextra-carlito
APT_OFFICE := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(OFFICE_PACKAGES)
OFFICE_OK := test -x $(SOFFICE) && /usr/bin/python3 -c 'import uno' 2>/dev/null && command -v pdftotext >/dev/null

office:
	@$(OFFICE_OK) && exit 0; \
	if [ "$$SKIP_OFFICE_TESTS" = 1 ]; then echo "SKIP_OFFICE_TESTS=1: no LibreOffice, PDF tests skipped."; exit 0; fi; \
	echo "Installing Debian's LibreOffice (writer, no GUI) for the PDF documents..."; \
	if [ "$$(id -u)" = 0 ]; then sh -c '$(APT_OFFICE)'; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n sh -c '$(APT_OFFICE)'; \
	else echo "LibreOffice is missing and cannot be installed without root: run as root" \
	  "'apt-get install --no-install-recommends $(OFFICE_PACKAGES)', or set SKIP_OFFICE_TESTS=1 to leave the PDF tests out." >&2; exit 1; fi; \
	$(OFFICE_OK) || { echo "$(SOFFICE), python3-uno or pdftotext still missing after apt-get install." >&2; exit 1; }

## Debian's redis-server for the test of several servers and workers on one database (tests/ops_multi: the
## login limit shared through RATELIMIT_STORAGE_URI=redis://…; the test starts a private one on a free port).
## Quick when it is there; otherwise installed with apt-get, as root or through `sudo -n`
## (SKIP_REDIS_TESTS=1 leaves it out, and that test skips).
REDIS_SERVER := /usr/bin/redis-server
APT_REDIS := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server

redis:
	@test -x $(REDIS_SERVER) && exit 0; \
	if [ "$$SKIP_REDIS_TESTS" = 1 ]; then echo "SKIP_REDIS_TESTS=1: no redis-server, the several-servers test skipped."; exit 0; fi; \
	echo "Installing Debian's redis-server for the several-servers test..."; \
	if [ "$$(id -u)" = 0 ]; then sh -c '$(APT_REDIS)'; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n sh -c '$(APT_REDIS)'; \
	else echo "$(REDIS_SERVER) is missing and cannot be installed without root: run as root" \
	  "'apt-get install --no-install-recommends redis-server', or set SKIP_REDIS_TESTS=1 to leave that test out." >&2; exit 1; fi; \
	test -x $(REDIS_SERVER) || { echo "$(REDIS_SERVER) still missing after apt-get install redis-server." >&2; exit 1; }

## Run the tests on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set
test: install browser office redis
	$(PY) -m pytest

## Static checks (pyflakes and pycodestyle rules through ruff)
lint: install
	$(VENV)/bin/ruff check trainingmgr tests bench app.py --select F,E,W --ignore E501

## Every benchmark (bench/all.py) on SQLite, and on PostgreSQL too when BENCH_DATABASE_URL or TEST_DATABASE_URL is set
## (e.g. BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/test make bench): 100 clients signing at once, the pages
## with ten years of data, the session pack, the BPF; figures as ratios against baselines of the same run, then a
## summary table. About 5 minutes per database on 2 cores; BENCH_ARGS=--quick takes about half
## (BENCH_ARGS="--only pages" runs one of them; see .venv/bin/python bench/all.py --help).
bench: install
	$(PY) bench/all.py $(BENCH_ARGS)

## The key screens of every journey (advisor, trainer, trainee, company contact, public), at desktop (1366×900)
## and phone (390×844) sizes, into screenshots/ (git-ignored), named NN-journey-screen-{desktop,phone}.png: the demo
## on a throw-away database, served here and driven by Debian's chromium (tests/e2e/screenshots.py; about a minute).
## SCREENSHOTS_ARGS="--only trainer --sizes phone" narrows it (.venv/bin/python -m tests.e2e.screenshots --help).
screenshots: install browser
	$(PY) -m tests.e2e.screenshots $(SCREENSHOTS_ARGS)

## Check that the models and the migrations agree
db-check: install
	$(FLASK) db upgrade
	$(FLASK) db check

clean:
	rm -rf $(VENV) .pytest_cache
