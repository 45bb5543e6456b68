# The two commands of the README:
#   make demo   set up (first time) and run the main job on the embedded synthetic corpus
#   make test   set up (first time) and run the test suite
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.mixlab-setup
CORES ?= all
# e.g. https://download.pytorch.org/whl/cpu: torch's small CPU build on a machine without a GPU
TORCH_INDEX ?=
TARGET ?= results/fig3.pdf

.PHONY: setup demo test bench lint clean-results

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || { \
	  echo "[setup] ffmpeg/ffprobe missing (musdb/stempeg need them): installing Debian's ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q ffmpeg \
	    || { echo "[setup] could not install ffmpeg; install it with your package manager and rerun"; exit 1; }; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -n "$(TORCH_INDEX)" ]; then $(PY) -m pip install -q "torch==2.13.0" --index-url $(TORCH_INDEX); fi
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(TARGET)

test: setup
	$(VENV)/bin/python -m pytest -q --durations=12

bench: setup
	$(VENV)/bin/python bench/run.py

lint: setup
	$(VENV)/bin/snakemake --lint

clean-results:
	rm -rf results .snakemake
