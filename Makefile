# The two commands the README promises: `make test` and `make demo`. Both start from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_COLLECTION := demo-collection
DEMO_CASE := demo-case
DEMO_LISTS := demo-lists
# The demo case's review-app login; never for a real case.
DEMO_PASSWORD := benign-demo-only

# Debian packages the tests use as independent oracles, fallback decoders or (chromium) the
# browser Playwright drives; tests that need one skip, saying so, where it is missing (e.g. a
# laptop without root).
APT_PACKAGES := hashdeep 7zip libimage-exiftool-perl chromium \
	dosfstools mtools e2fsprogs exfatprogs ewf-tools qemu-utils fdisk genisoimage ntfs-3g \
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev libavfilter-dev \
	libswresample-dev pkg-config parted apfsprogs

.PHONY: install system-deps test demo lint bench clean

install: system-deps $(STAMP)

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "not installed (needs root and apt-get): $$missing; the tests that use them skip"; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,cluster]'
	@# Meta's own vPDQ binding, the oracle of tests/hashing/test_vpdq.py and benchmarks/video.py
	@# (never imported by Vigil); it compiles against FFmpeg's development files above.
	$(PY) -m pip install --quiet vpdq==0.2.5 || echo "vpdq did not build: its oracle tests skip"
	touch $(STAMP)

test: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

demo: install
	rm -rf $(DEMO_COLLECTION) $(DEMO_LISTS) $(DEMO_CASE)
	$(PY) -m vigil.synthetic $(DEMO_COLLECTION)
	$(PY) -m vigil.synthetic.lists $(DEMO_COLLECTION) $(DEMO_LISTS)
	$(VENV)/bin/vigil case create $(DEMO_CASE) --name "Demo case (benign generated images)"
	$(VENV)/bin/vigil hashset import $(DEMO_CASE) $(DEMO_LISTS)/partner.vics.json --kind alert \
		--name partner
	$(VENV)/bin/vigil hashset import $(DEMO_CASE) $(DEMO_LISTS)/nsrl-like.md5 --format md5sum \
		--kind ignorable --name nsrl-like
	$(VENV)/bin/vigil ingest $(DEMO_CASE) $(DEMO_COLLECTION)
	$(VENV)/bin/vigil export $(DEMO_CASE) --format vics -o $(DEMO_CASE)/export.vics.json
	$(VENV)/bin/vigil devices $(DEMO_CASE)
	$(VENV)/bin/vigil queue $(DEMO_CASE) --limit 10
	$(VENV)/bin/vigil report $(DEMO_CASE) --format html -o $(DEMO_CASE)/report.html
	@echo "report: $(DEMO_CASE)/report.html (open it in a browser; it fetches nothing)"
	echo "$(DEMO_PASSWORD)" | $(VENV)/bin/vigil user add $(DEMO_CASE) demo --role admin \
		--password-stdin
	@echo "review app: $(VENV)/bin/vigil serve $(DEMO_CASE), then http://127.0.0.1:8765/ as demo / $(DEMO_PASSWORD)"

bench: install
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_COLLECTION) $(DEMO_LISTS) $(DEMO_CASE) .bench
