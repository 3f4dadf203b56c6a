"""The embedding model run with onnxruntime and tokenizers (no torch): the ``onnx``
backend of index.embeddings, on a folder index.onnx_export wrote.

It encodes as sentence-transformers' ``encode`` does: texts sorted by length into
batches (each batch padded to its longest text), truncated to the model's maximum
length; pooling is inside the exported graph; rows L2-normalised on request.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .onnx_export import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE


class OnnxEncoder:
    def __init__(self, folder: str | Path):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # no warnings on stderr at load
        self.session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options,
                                                    providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(self.config["max_seq_length"])
        self.tokenizer.enable_padding(pad_id=self.config["pad_id"], pad_token=self.config["pad_token"])
        self.inputs = self.config["inputs"]

    def get_sentence_embedding_dimension(self) -> int:
        return self.config["dimension"]

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               **_ignored) -> np.ndarray:
        """(n, d) float32 vectors, in the order of `texts` (sentence-transformers' keyword
        arguments are accepted; the result is always a numpy array)."""
        out = np.zeros((len(texts), self.config["dimension"]), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in rows])
            columns = {"input_ids": [e.ids for e in encoded], "attention_mask": [e.attention_mask for e in encoded],
                       "token_type_ids": [e.type_ids for e in encoded]}
            feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self.inputs}
            out[rows] = self.session.run(None, feed)[0]
        if normalize_embeddings and len(texts):
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
