.PHONY: install test unit bench deb dist clean

install:
	./scripts/bootstrap.sh

test: install
	OVERMIND_TEST_HOST_RECOVERY=1 .venv/bin/python -m pytest -q

unit: install
	.venv/bin/python -m pytest -q tests/unit

bench: install
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
