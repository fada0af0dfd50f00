# Set-up is idempotent: the venv is (re)built only when pyproject.toml changes.
VENV ?= .venv
PYTEST_ARGS ?= -q --durations=20

.PHONY: setup test demo clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml utils/setup_env.sh
	bash utils/setup_env.sh $(VENV)
	touch $@

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

demo: setup
	cd egs/digits/s5 && ./run.sh

clean:
	rm -rf $(VENV)
