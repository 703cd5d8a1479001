# Two commands do all the set-up themselves: `make train` and `make test`.
# They create (or reuse) .venv and install levers with its dev extras.
# torch is installed first by tools/torch_install.sh, which picks the build for this machine and says why: without
# an NVIDIA GPU the CPU build from PyTorch's CPU index (when it answers), so pip never pulls a multi-GB CUDA build;
# with one, the default CUDA build. `make TORCH_SPEC=torch==2.13.0 TORCH_INDEX=<url> setup` overrides the choice.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?=
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.levers-installed

.PHONY: setup plugin-path train test lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	TORCH_SPEC="$(TORCH_SPEC)" TORCH_INDEX="$(TORCH_INDEX)" tools/torch_install.sh $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(MAKE) --no-print-directory plugin-path
	touch $@

# setuptools' editable install maps levers.conf -> conf/ with an import hook, which hides src/hydra_plugins from
# Hydra's plugin scan (pkgutil sees no folder), so src also goes on sys.path. A wheel install needs none of this.
plugin-path:
	$(BIN)/python -c "import site, sys; open(site.getsitepackages()[0] + '/levers-src.pth', 'w').write(sys.argv[1])" "$(CURDIR)/src"

train: setup
	$(BIN)/python train.py $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs multirun mlruns .pytest_cache .ruff_cache
