.PHONY: install test unit bench clean

install:
	./scripts/bootstrap.sh

test: install
	OVERMIND_TEST_HOST_RECOVERY=1 .venv/bin/python -m pytest -q

unit: install
	.venv/bin/python -m pytest -q tests/unit

bench: install
	.venv/bin/python benchmarks/run.py

clean:
	rm -rf .venv build *.egg-info
