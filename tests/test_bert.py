"""index.bert: the plain-torch BERT gives the vectors sentence-transformers gives (bit
for bit), so a build that loads it mixes nothing into the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FIXTURES, TESTS
from index import bert, embeddings
from index.settings import default_model_path

pytestmark = pytest.mark.slow  # the real model, through both libraries


def _texts() -> list[str]:
    """≈ 300-character pieces of real reports (passage-sized), plus the edge cases:
    Latin letters and digits, an empty text, one past the 512-token limit."""
    texts = []
    for path in sorted((TESTS.parent / "data").glob("*.txt")) + sorted((FIXTURES / "real").glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="ignore")
        texts += [text[i:i + 300] for i in range(0, len(text), 300)]
    return texts[:150] + ["ABC def 123 政府信息公开", "", "长" * 800]


@pytest.mark.parametrize("int8", [False, True])
def test_plain_torch_bert_gives_sentence_transformers_vectors(int8):
    from sentence_transformers import SentenceTransformer

    path = default_model_path()
    ours, theirs = bert.load(path), SentenceTransformer(path, device="cpu")
    assert ours is not None
    if int8:  # activations are quantized per batch: equal only when the batches are
        ours.model, theirs = embeddings._quantize(ours.model), embeddings._quantize(theirs)
    texts = _texts()
    expected = theirs.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    got = ours.encode(texts, batch_size=32, normalize_embeddings=True)
    assert got.shape == expected.shape == (len(texts), 512)
    assert np.abs(got - expected).max() < 1e-6


def test_only_plain_bert_folders_are_taken(tmp_path):
    assert bert.supported(default_model_path())
    assert bert.load(tmp_path) is None  # no config.json: sentence-transformers loads it
    (tmp_path / "config.json").write_text('{"model_type": "xlm-roberta", "hidden_act": "gelu"}', encoding="utf-8")
    (tmp_path / "tokenizer.json").write_text("{}", encoding="utf-8")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    assert not bert.supported(tmp_path)
