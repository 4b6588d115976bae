.PHONY: install check test unit bench deb dist clean

install:
	./scripts/bootstrap.sh

# Lint, types and the import layers: part of "the tests pass".
check: install
	.venv/bin/ruff check overmind tests benchmarks
	.venv/bin/mypy
	.venv/bin/lint-imports

test: check
	OVERMIND_TEST_HOST_RECOVERY=1 .venv/bin/python -m pytest -q --durations=40

unit: install
	.venv/bin/python -m pytest -q tests/unit

# Compiled first, as an installed package is: a source compiled at every start would be measured.
bench: install
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m compileall -q overmind
	.venv/bin/python benchmarks/run.py

# The Debian package (dh-virtualenv), into dist/.
deb:
	./scripts/install-packaging.sh
	./scripts/build-deb.sh

# A wheel and an sdist for pipx/pip, into dist/.
dist: install
	.venv/bin/python -m build --outdir dist .

clean:
	rm -rf .venv build dist *.egg-info
