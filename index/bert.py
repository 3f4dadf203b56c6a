"""A BERT sentence encoder in plain torch, for model folders like m3e-small's.

Why: a fresh ``build_index.py`` that has one changed passage to embed spent most of its
time loading the model through sentence-transformers (importing it pulls in
transformers, scikit-learn and more: ≈ 4.5 s of imports, then ≈ 1.5 s of
``from_pretrained``; BENCHMARKS.md). This module needs only torch and tokenizers and
reads the folder's own files: ``config.json``, ``tokenizer.json`` and
``pytorch_model.bin`` (or ``model.safetensors``).

It computes what sentence-transformers computes for a folder without ``modules.json``
(a BertModel, then mean pooling over the attention mask): the same tokenizer file,
inputs truncated to 512 tokens, texts sorted by length and padded per batch of 32,
attention by ``scaled_dot_product_attention`` as transformers' BertModel runs it.
tests/test_bert.py checks the vectors against sentence-transformers'. ``load`` returns
None for any other kind of model (index.embeddings then uses sentence-transformers).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MAX_TOKENS = 512


def supported(path: str | Path) -> bool:
    """A local BERT folder this module can run (no modules.json: plain mean pooling)."""
    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        return False
    if (path / "modules.json").exists() or not _weights(path):
        return False
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute")


def _weights(path: Path) -> Path | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return path / name
    return None


def load(path: str | Path):
    """The encoder of a supported folder, or None."""
    if not supported(path):
        return None
    return BertEncoder(Path(path))


class BertEncoder:
    """``encode`` and ``get_sentence_embedding_dimension`` as sentence-transformers has them."""

    def __init__(self, path: Path):
        import torch
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.max_tokens = min(MAX_TOKENS, int(config.get("max_position_embeddings", MAX_TOKENS)))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self.pad_id = int(config.get("pad_token_id") or 0)
        self.model = _Bert(config)
        weights = _weights(path)
        if weights.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(weights))
        else:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        self.model.load_state_dict({k: v for k, v in state.items() if k in self.model.state_dict()})
        self.model.eval()
        self.dimension = int(config["hidden_size"])

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        import torch

        order = np.argsort([-len(t) for t in texts])  # exactly as sentence-transformers sorts (its batches)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chosen = order[start:start + batch_size]
                encodings = self.tokenizer.encode_batch([texts[i] for i in chosen])
                width = max(len(e.ids) for e in encodings)
                ids = torch.full((len(chosen), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(chosen), width), dtype=torch.long)
                for row, e in enumerate(encodings):
                    ids[row, :len(e.ids)] = torch.tensor(e.ids)
                    mask[row, :len(e.ids)] = 1
                hidden = self.model(ids, mask)
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                if normalize_embeddings:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[chosen] = pooled.numpy()
        return out


def _Bert(config: dict):
    """BertModel's encoder (no pooler) with transformers' parameter names, eval mode only."""
    import torch
    from torch import nn

    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(config["vocab_size"], hidden)
            self.position_embeddings = nn.Embedding(config["max_position_embeddings"], hidden)
            self.token_type_embeddings = nn.Embedding(config.get("type_vocab_size", 2), hidden)
            self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

        def forward(self, ids):
            positions = torch.arange(ids.shape[1]).unsqueeze(0)
            x = (self.word_embeddings(ids) + self.token_type_embeddings(torch.zeros_like(ids))
                 + self.position_embeddings(positions))
            return self.LayerNorm(x)

    class Named(nn.Module):  # a Linear (and LayerNorm) under transformers' names
        def __init__(self, n_in, n_out, norm: bool):
            super().__init__()
            self.dense = nn.Linear(n_in, n_out)
            if norm:
                self.LayerNorm = nn.LayerNorm(n_out, eps=eps)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.self = SelfAttention()
            self.output = Named(hidden, hidden, True)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = Attention()
            self.intermediate = Named(hidden, int(config["intermediate_size"]), False)
            self.output = Named(int(config["intermediate_size"]), hidden, True)

        def forward(self, x, bias):
            b, n, _ = x.shape
            a = self.attention.self

            def split(t):
                return t.view(b, n, heads, hidden // heads).transpose(1, 2)

            context = nn.functional.scaled_dot_product_attention(
                split(a.query(x)), split(a.key(x)), split(a.value(x)), attn_mask=bias,
                scale=1.0 / math.sqrt(hidden // heads))
            context = context.transpose(1, 2).reshape(b, n, hidden)
            out = self.attention.output
            x = out.LayerNorm(out.dense(context) + x)
            inner = nn.functional.gelu(self.intermediate.dense(x))
            return self.output.LayerNorm(self.output.dense(inner) + x)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.ModuleList(Layer() for _ in range(int(config["num_hidden_layers"])))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = Embeddings()
            self.encoder = Encoder()

        def forward(self, ids, mask):
            x = self.embeddings(ids)
            # padding positions get the dtype's minimum, as transformers' mask does
            bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            for layer in self.encoder.layer:
                x = layer(x, bias)
            return x

    return Bert()
