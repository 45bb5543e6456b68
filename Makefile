# The two commands of the README:
#   make demo   set up (first time) and run the main job on the embedded synthetic corpus
#   make test   set up (first time) and run the test suite
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.mixlab-setup
CORPUS_STAMP := $(VENV)/.mixlab-corpus
CORES ?= all
# e.g. https://download.pytorch.org/whl/cpu: torch's small CPU build on a machine without a GPU
TORCH_INDEX ?=
TARGET ?= results/fig3.pdf

.PHONY: setup corpus-deps demo test bench lint clean-results

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

# The rendered corpus (mixlab render-corpus, dataset=rendered): MMA and recorded-sample soundfonts from
# Debian, music21 and TinySoundFont from PyPI, and pysinsy (the sung lead) built from source (~1.5 min);
# where pysinsy does not build, the lead is a GM voice patch and the corpus manifest says so. Also two recorded
# game soundtracks (Debian) for Paper B's optional unlabelled pool of real mixes (mixit.fma.source: soundtracks).
corpus-deps: $(CORPUS_STAMP)

$(CORPUS_STAMP): $(STAMP)
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	missing=""; for p in mma fluid-soundfont-gm avldrums.lv2-soundfont; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "[corpus-deps] installing$$missing (Debian)"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing \
	  || { echo "[corpus-deps] could not install$$missing; install them with your package manager and rerun"; exit 1; }; fi; \
	if ! ls /usr/share/hyperrogue/music/*.ogg >/dev/null 2>&1 || ! ls /usr/share/games/wesnoth/*/data/core/music/*.ogg >/dev/null 2>&1; then \
	  echo "[corpus-deps] installing the recorded game soundtracks (Paper B's optional pool, mixit.fma.source: soundtracks)"; \
	  $$SUDO apt-get update -q >/dev/null; \
	  wesnoth=$$(apt-cache pkgnames wesnoth- | grep -E '^wesnoth-1\.[0-9]+-music$$' | sort -V | tail -1); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends hyperrogue-music $$wesnoth \
	  || { echo "[corpus-deps] could not install hyperrogue-music $$wesnoth"; exit 1; }; fi; \
	if [ ! -f /usr/share/mma/lib/stdlib/.mmaDB ]; then echo "[corpus-deps] building mma's groove database (mma -G)"; \
	  $$SUDO mkdir -p /usr/share/mma/plugins && $$SUDO mma -G >/dev/null; fi
	$(PY) -m pip install -q "music21==10.5.1" "cython>=3" wheel "setuptools>=64"
	$(PY) -m pip install -q --no-deps "tinysoundfont==0.3.7"     # --no-deps: its pyaudio dependency does not build
	$(PY) -m pip install -q --no-build-isolation --no-deps "pysinsy==0.0.5" \
	  || echo "[corpus-deps] pysinsy did not build: rendered songs get a voice-patch lead (see the corpus manifest)"
	touch $(CORPUS_STAMP)

demo: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(TARGET)

test: setup corpus-deps
	MIXLAB_REQUIRE_CORPUS=1 $(VENV)/bin/python -m pytest -q --durations=12

bench: setup
	$(VENV)/bin/python bench/run.py

lint: setup
	$(VENV)/bin/snakemake --lint

clean-results:
	rm -rf results .snakemake
