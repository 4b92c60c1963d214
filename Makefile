# har-edge: every target bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= data/synth
ART    ?= artifacts
EXTRAS ?= train,mqtt,dev
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup data train seed pose-models pose-default default-embed default-fp32 motion export-tflite bench tflite-runtime-venv demo test test-slow test-all soak soak-short test-pi test-arm64 dist lint clean help

help:
	@echo "make demo          set up, make the synthetic dataset, train the LRCN, export int8, run the edge"
	@echo "make test          run the test suite (fast tests; 'make test-all' adds slow ones)"
	@echo "make train         train ConvLSTM and LRCN on $(DATA) into $(ART)/"
	@echo "make seed          the LSTM-CNN study: download UCF50's four classes, train both models into $(ART)/seed"
	@echo "make pose-models   fetch the BlazePose models for the pose encoder (PyPI) and the lite landmarks (npm registry)"
	@echo "make pose-default  generate human motion, train the default pose head, export it into the package"
	@echo "make export-tflite int8 TFLite bundle of the LRCN into $(ART)/bundle"
	@echo "make bench         accuracy vs latency for every variant into $(ART)/bench"
	@echo "make soak          2 h of har-edge run with every sink on and broker restarts: $(SOAK)/samples.csv, soak.png"
	@echo "make soak-short    the same for 2 minutes; fails on a lost event or growth (CI runs it)"

	@echo "make dist          wheel and sdist into dist/ (what a device installs: docs/raspberry-pi.md)"
	@echo "make test-pi       the edge tests in a venv made with Raspberry Pi OS Bookworm's constraints (numpy 1.24)"
	@echo "make test-arm64    the edge install on emulated arm64 (Debian bookworm root, qemu): tests, agreement with x86"
	@echo "make lint | clean"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@

setup: $(STAMP)

$(DATA)/.complete: | $(STAMP)
	$(BIN)/har data synth --out $(DATA)
	@touch $@

data: $(DATA)/.complete

train: $(STAMP) $(DATA)/.complete
	$(BIN)/har train --model all --data $(DATA) --config configs/synth.toml --out $(ART)

# Needs a RAR extractor (sudo apt-get install unar) and ~7 GB free while unpacking.
seed: $(STAMP)
	$(BIN)/har train --preset seed --out $(ART)/seed

pose-models: $(STAMP)
	$(BIN)/har models fetch pose
	$(BIN)/har models fetch pose-lite

# The default model: generated motion only, no video (the shipped head: 200 actors). MOTION_ACTORS=12 gives a quick small version.
MOTION        ?= data/motion
MOTION_ACTORS ?= 200
DEFAULT_MODEL ?= edge/default_model
motion: $(STAMP)
	$(BIN)/har data motion --out $(MOTION) --actors $(MOTION_ACTORS) --takes 2 --seed 0

# fp32: the head is the only model a pose bundle converts (BlazePose stays as Google ships it), and LiteRT's
# integer LSTM kernel ran it ~4x slower than the float one (edge/default_model/report.md) for a 130 KB saving.
pose-default: motion
	$(BIN)/har train --encoder pose --data $(MOTION) --config configs/pose-default.toml --out $(ART)/pose-default
	$(BIN)/har export --model $(ART)/pose-default/pose_lstm --quant fp32 --pose-models cache --out $(ART)/pose-default/bundle
	$(BIN)/har eval-motion $(ART)/pose-default/bundle --json $(ART)/pose-default/bundle/motion_score.json
	mkdir -p $(DEFAULT_MODEL)
	cp $(ART)/pose-default/bundle/head.tflite $(ART)/pose-default/bundle/metadata.json $(ART)/pose-default/bundle/report.json \
	   $(ART)/pose-default/bundle/report.md $(ART)/pose-default/bundle/motion_score.json \
	   $(ART)/pose-default/pose_lstm/head.weights.npz $(ART)/pose-default/pose_lstm/metrics.json $(DEFAULT_MODEL)/

# Give an older default model's head its embedding output (for `har-edge enroll`) in place; the head's ops,
# weights and probabilities stay as they are. `make pose-default` exports heads with it already.
default-embed: $(STAMP)
	$(BIN)/python -m har.cli.embed $(DEFAULT_MODEL)

# Convert the default model's head anew, fp32, from its float weights (head.weights.npz), in place, and score it
# again on generated people; for a default model exported int8 before `make pose-default` exported fp32.
default-fp32: $(STAMP)
	$(BIN)/python -m har.cli.embed $(DEFAULT_MODEL) --quant fp32
	$(BIN)/har eval-motion $(DEFAULT_MODEL) --json $(DEFAULT_MODEL)/motion_score.json

# The arm64 proof without a Pi: needs root, debootstrap and qemu-user-static; docs/raspberry-pi.md has the last result.
test-arm64: $(STAMP)
	deploy/arm64/test-arm64.sh

# One model when missing (the demo shows the LRCN only); `make train` retrains both.
$(ART)/%/model.keras: | $(STAMP) $(DATA)/.complete
	$(BIN)/har train --model $* --data $(DATA) --config configs/synth.toml --out $(ART)

export-tflite: $(STAMP) $(ART)/lrcn/model.keras
	$(BIN)/har export --model $(ART)/lrcn --quant int8 --out $(ART)/bundle

# tflite-runtime 2.14 (the last release) needs numpy<2 and CPython <= 3.11: its own venv.
TFLRT ?= .venv-tflrt
TFLRT_PYTHON ?= python3.11
$(TFLRT)/.installed: pyproject.toml
	$(TFLRT_PYTHON) -m venv $(TFLRT)
	$(TFLRT)/bin/pip install --quiet 'numpy<2' tflite-runtime==2.14.0 opencv-python-headless typer rich
	$(TFLRT)/bin/pip install --quiet --no-deps -e .
	@touch $@

tflite-runtime-venv: $(TFLRT)/.installed

bench: $(STAMP) $(ART)/lrcn/model.keras $(ART)/convlstm/model.keras
	-@$(MAKE) --no-print-directory tflite-runtime-venv || echo "no tflite-runtime venv: its rows will say skipped"
	$(BIN)/har bench --models $(ART) --out $(ART)/bench --bundle $(ART)/bundle

demo: $(STAMP) $(ART)/lrcn/model.keras export-tflite  # trains the LRCN once; `make train` retrains both
	$(BIN)/har data scenario --out $(ART)/demo/scenario.mp4
	$(BIN)/har predict $(ART)/demo/scenario.mp4 --model $(ART)/lrcn --output $(ART)/demo/annotated_keras.mp4
	$(BIN)/har-edge run --config configs/demo.toml --bundle $(ART)/bundle --source $(ART)/demo/scenario.mp4 \
		--jsonl $(ART)/demo/events.jsonl --output $(ART)/demo/annotated_edge.mp4

test: $(STAMP)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Needs mosquitto; builds the colour test bundle with TensorFlow unless SOAK_ARGS names --bundle and --video.
SOAK ?= $(ART)/soak
SOAK_MINUTES ?= 120
SOAK_ARGS ?=
soak: $(STAMP)
	$(BIN)/python tools/soak.py --minutes $(SOAK_MINUTES) --out $(SOAK) $(SOAK_ARGS)

soak-short: $(STAMP)
	$(BIN)/python tools/soak.py --minutes 2 --restart-every 30 --down-for 6 --sample-every 5 --warmup 45 \
		--segment-s 30 --out $(SOAK)-short --check $(SOAK_ARGS)

# What `pip install -c <constraints>` gives a Raspberry Pi: numpy 1.24 (Bookworm's, which apt's picamera2 is
# built against), no TensorFlow. The Keras-converted test models are built first by the main venv.
PI_VENV        ?= .venv-pi
PI_PYTHON      ?= python3.11
PI_CONSTRAINTS ?= edge/deploy/raspberrypi-bookworm.txt
PI_MODELS      ?= $(ART)/test-models
$(PI_VENV)/.installed: pyproject.toml $(PI_CONSTRAINTS)
	$(PI_PYTHON) -m venv $(PI_VENV)
	$(PI_VENV)/bin/pip install --quiet --upgrade pip
	$(PI_VENV)/bin/pip install --quiet -c $(PI_CONSTRAINTS) -e ".[mqtt]" pytest hypothesis pyyaml prometheus-client jinja2
	@touch $@

test-pi: $(STAMP) $(PI_VENV)/.installed
	$(BIN)/python -m tests.edge.prebuilt $(PI_MODELS)
	$(PI_VENV)/bin/python -c "import numpy, cv2; print('device venv: numpy', numpy.__version__, 'opencv', cv2.__version__)"
	HAR_TEST_MODELS=$(abspath $(PI_MODELS)) $(PI_VENV)/bin/pytest -m "not slow" tests/edge $(PYTEST_ARGS)

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

lint: $(STAMP)
	$(BIN)/ruff check models train export edge tests tools

clean:
	rm -rf $(ART) $(DATA) .pytest_cache .ruff_cache build dist *.egg-info $(PI_VENV)
