"""Train the small CNN shipped with qrt (qrt/data/) on scikit-learn's digits and export it.

    python tools/train_demo_model.py            # writes qrt/data/digits_cnn.onnx, digits.npz

The data set is the 1797 8x8 images of `sklearn.datasets.load_digits` (pixels 0..16, scaled to
0..1). A fixed split (seed 0): 1437 images to train, 360 held out. `digits.npz` holds the
held-out images and labels (`x_test`, `y_test`, float32 NCHW [N,1,8,8] / int64) and 200
training images for calibration (`x_calib`). The network (Conv-BN-ReLU x2 with max pooling,
then two Linear layers) is small enough to train in a few seconds on one CPU core, and uses the
ops the converter's passes fold (BatchNormalization, Relu, Flatten, Gemm).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "qrt", "data")


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),                                     # 16 x 4 x 4
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),                                     # 32 x 2 x 2
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def load_split(seed: int = 0):
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=360, random_state=seed, stratify=y)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DATA)
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    torch.manual_seed(0)
    x_tr, x_te, y_tr, y_te = load_split()
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            # light augmentation: one-pixel shifts keep the 8x8 digits recognisable
            xb = torch.roll(xt[idx], shifts=(int(torch.randint(-1, 2, ())),
                                             int(torch.randint(-1, 2, ()))), dims=(2, 3))
            loss = nn.functional.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
    print(f"test accuracy (torch, float): {acc * 100:.2f}% on {len(y_te)} images")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits_cnn.onnx")
    torch.onnx.export(model, torch.from_numpy(x_te[:1]), path, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"},
                                                             "logits": {0: "batch"}},
                      opset_version=17, dynamo=False)
    rng = np.random.default_rng(0)
    calib = x_tr[rng.choice(len(x_tr), 200, replace=False)]
    np.savez_compressed(os.path.join(args.out, "digits.npz"), x_test=x_te, y_test=y_te,
                        x_calib=calib)
    print(f"wrote {path} ({os.path.getsize(path)} bytes) and digits.npz")


if __name__ == "__main__":
    main()
