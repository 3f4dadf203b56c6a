"""The ONNX backend of the embedding model (index.onnx_export, index.onnx_encoder): its
vectors against sentence-transformers' on real passages, a build and a question that
never import torch, and an index that switches backend re-embedded, never mixed."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import embeddings, layout, passages, vectors
from index.build import build, current_dir
from index.retrieval_stage import DENSE_KINDS, RetrievalStage
from index.served import Index
from index.settings import Settings

pytestmark = pytest.mark.slow  # the real embedding model, both backends

ROOT = Path(__file__).parent.parent
ONNX = Settings()  # the default: ONNX, int8
TORCH = dataclasses.replace(ONNX, embedding_backend="torch")
TORCH_FLOAT32 = dataclasses.replace(TORCH, embedding_quantize=False)


def _text_passages(build_dir: Path) -> list:
    db = sqlite3.connect(layout.store_file(build_dir))
    db.row_factory = sqlite3.Row
    try:
        return [p for p in passages.load_passages(db) if p.kind in DENSE_KINDS]
    finally:
        db.close()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)  # rows are normalised


def test_onnx_vectors_match_sentence_transformers_on_real_passages(corpus_index):
    """Thresholds from BENCHMARKS.md ("The embedding model in ONNX", 512 real passages):
    ONNX int8 to torch float32 0.997 mean (min 0.995), to torch int8 0.981 (min 0.972);
    torch int8 to float32 0.983. The margins allow another sample of passages."""
    stored = _text_passages(current_dir(corpus_index))
    texts = [passages.dense_text(p) for p in random.Random(0).sample(stored, 128)]
    onnx = embeddings.embed(texts, ONNX.model_name, ONNX.onnx_dir)
    torch_int8 = embeddings.embed(texts, TORCH.model_name)
    torch_float32 = embeddings.embed(texts, TORCH_FLOAT32.model_name)
    to_float32, to_int8 = _cosines(onnx, torch_float32), _cosines(onnx, torch_int8)
    assert to_float32.mean() >= 0.995 and to_float32.min() >= 0.99
    assert to_int8.mean() >= 0.975 and to_int8.min() >= 0.96
    # closer to the float32 model than torch's own int8 is
    assert to_float32.mean() > _cosines(torch_int8, torch_float32).mean()


CHECK_IMPORTS = """
import atexit, sys
atexit.register(lambda: print("IMPORTED", "torch" in sys.modules, "sentence_transformers" in sys.modules,
                              file=sys.stderr))
"""


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", CHECK_IMPORTS + code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def test_a_build_and_a_question_with_the_onnx_backend_never_import_torch(tmp_path):
    embeddings.get_model(ONNX.model_name, ONNX.onnx_dir)  # the export exists (made once per machine)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted((ROOT / "data").glob("*.txt"))[:2]:
        shutil.copy(path, inputs / path.name)
    index_dir = tmp_path / "index"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NIANBAO_ONNX_DIR": str(Path(ONNX.onnx_dir).absolute()),
           "NIANBAO_EMBEDDING_BACKEND": "onnx"}
    done = _python(f"""
import runpy
sys.argv = ["build_index.py", "--input", {str(inputs)!r}, "--index", {str(index_dir)!r}, "--brief"]
runpy.run_path("scripts/build_index.py", run_name="__main__")
""", env)
    assert "IMPORTED False False" in done.stderr, done.stderr
    build_dir = current_dir(index_dir)
    assert layout.model_file(build_dir).read_text(encoding="utf-8").startswith(ONNX.model_name + "\n")
    assert Path(layout.onnx_file(build_dir).read_text(encoding="utf-8")) == Path(ONNX.onnx_dir).absolute()
    assert len(_text_passages(build_dir)) > 0
    # the server's side: a question embedded by the backend the build recorded
    done = _python(f"""
from qa.retrieve import search
hits = search({str(index_dir)!r}, "政府信息公开工作存在的主要问题", k=3, mode="dense")
print(len(hits), hits[0].dense_rank)
""", env)
    assert done.stdout.split() == ["3", "1"]
    assert "IMPORTED False False" in done.stderr, done.stderr


def _collection_vectors(build_dir: Path) -> dict[str, np.ndarray]:
    client = vectors.open_client(build_dir)
    try:
        got = vectors.get_collection(client, create=False).get(include=["embeddings"])
        return {pid: np.asarray(vec) for pid, vec in zip(got["ids"], got["embeddings"])}
    finally:
        vectors.close_client(client)


def _build_with(settings: Settings, inputs: Path, index_dir: Path) -> tuple[Path, int]:
    """(the build, texts sent to the model) of a build with these settings."""
    before = embeddings.STATS["embedded"]
    build(inputs, index_dir, progress=False, stages=[RetrievalStage(settings=settings)])
    return current_dir(index_dir), embeddings.STATS["embedded"] - before


def _embedded_by(settings: Settings, build_dir: Path, stored: list) -> None:
    """Every vector of the build is its passage's vector by this backend (from the
    embedding cache, which keys vectors by model name)."""
    got = _collection_vectors(build_dir)
    assert sorted(got) == sorted(p.id for p in stored)
    cache = embeddings.EmbeddingCache(layout.embed_cache(build_dir.parent.parent), settings.model_name,
                                      settings.onnx_dir)
    try:
        expected = cache.embed([passages.dense_text(p) for p in stored])
    finally:
        cache.close()
    for passage, vector in zip(stored, expected):
        assert np.allclose(got[passage.id], vector, atol=1e-5), passage.id


def test_switching_backend_re_embeds_every_passage_and_never_mixes_vectors(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted((ROOT / "data").glob("*.txt"))[:2]:
        shutil.copy(path, inputs / path.name)
    index_dir = tmp_path / "index"

    built, _ = _build_with(TORCH, inputs, index_dir)
    stored = _text_passages(built)
    _embedded_by(TORCH, built, stored)
    assert Index(built).model == TORCH.model_name

    built, embedded = _build_with(ONNX, inputs, index_dir)  # no file changed, the backend did
    assert embedded == len({passages.dense_text(p) for p in stored})  # all of them, none from torch's cache
    _embedded_by(ONNX, built, stored)
    assert Index(built).model == ONNX.model_name
    torch_vectors = embeddings.embed([passages.dense_text(p) for p in stored], TORCH.model_name)
    onnx_vectors = _collection_vectors(built)
    assert min(float(onnx_vectors[p.id] @ v) for p, v in zip(stored, torch_vectors)) < 0.9999  # not torch's

    built, embedded = _build_with(TORCH, inputs, index_dir)  # back: the cache has torch's vectors
    assert embedded == 0
    _embedded_by(TORCH, built, stored)
