"""A zoo of small PyTorch architectures, each exported to ONNX, converted by qrt in every mode
and run beside ONNX Runtime on the float model: what converts, what runs, how far off it is.

    python tools/zoo_check.py [name ...] [--modes fp32,int8,int8-dynamic,fp16] [--json out.json]
                              [--exporter torchscript|dynamo]

For each model and mode it prints "ok" with the largest output error relative to the largest
reference value (integer outputs: the count of differing elements), or the error qrt raised.
Random weights and inputs (seeded); static int8 calibrates on 8 random samples. Exit status 1
when a model that should convert fails (EXPECTED_REFUSALS lists the deliberate refusals), or
when an fp32 result is off by more than 1e-4. Written to find converter and runtime gaps on
common layer patterns (grouped and 1-D convolutions, PReLU, class tokens, causal attention,
einsum, pooling modes, ...); the quantized errors are informative, not thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

import qrt

torch.manual_seed(0)


class PReluNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,16,3,padding=1); self.p=nn.PReLU(16); self.c2=nn.Conv2d(16,8,3); self.p2=nn.PReLU()
    def forward(self,x): return self.p2(self.c2(self.p(self.c(x))))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv1d(40,64,5,padding=2); self.c2=nn.Conv1d(64,64,3,stride=2,groups=4); self.bn=nn.BatchNorm1d(64); self.fc=nn.Linear(64,10)
    def forward(self,x): y=torch.relu(self.bn(self.c2(torch.relu(self.c(x))))); return self.fc(y.mean(-1))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.l=nn.LSTM(32,48,batch_first=True); self.fc=nn.Linear(48,5)
    def forward(self,x): y,_=self.l(x); return self.fc(y[:,-1])


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.l=nn.GRU(32,48,batch_first=True); self.fc=nn.Linear(48,5)
    def forward(self,x): y,_=self.l(x); return self.fc(y)


class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,32,3,padding=1); self.g=nn.GroupNorm(8,32); self.c2=nn.Conv2d(32,16,3,padding=1)
    def forward(self,x): return self.c2(torch.nn.functional.silu(self.g(self.c(x))))


class CausalLM(nn.Module):
    def __init__(self, d=64, h=4, v=100):
        super().__init__()
        self.e=nn.Embedding(v,d); self.pos=nn.Embedding(64,d); self.ln=nn.LayerNorm(d); self.qkv=nn.Linear(d,3*d); self.o=nn.Linear(d,d); self.h=h; self.head=nn.Linear(d,v)
        self.ff=nn.Sequential(nn.Linear(d,4*d), nn.GELU(approximate='tanh'), nn.Linear(4*d,d)); self.ln2=nn.LayerNorm(d)
    def forward(self, ids):
        T=ids.shape[1]; pos=torch.arange(T).unsqueeze(0); x=self.e(ids)+self.pos(pos)
        q,k,v=self.qkv(self.ln(x)).split(64,dim=-1); B=x.shape[0]
        q=q.view(B,T,self.h,-1).transpose(1,2); k=k.view(B,T,self.h,-1).transpose(1,2); v=v.view(B,T,self.h,-1).transpose(1,2)
        a=(q@k.transpose(-1,-2))/4.0
        mask=torch.triu(torch.ones(T,T,dtype=torch.bool),1); a=a.masked_fill(mask,float('-inf'))
        y=(a.softmax(-1)@v).transpose(1,2).reshape(B,T,-1); x=x+self.o(y); x=x+self.ff(self.ln2(x)); return self.head(x)


class SDPA(nn.Module):
    def __init__(self,d=64):
        super().__init__()
        self.qkv=nn.Linear(d,3*d); self.o=nn.Linear(d,d)
    def forward(self,x):
        B,T,_=x.shape; q,k,v=self.qkv(x).split(64,-1); f=lambda t:t.view(B,T,4,16).transpose(1,2)
        y=torch.nn.functional.scaled_dot_product_attention(f(q),f(k),f(v),is_causal=True); return self.o(y.transpose(1,2).reshape(B,T,64))


class ViTPatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.p=nn.Conv2d(3,64,8,stride=8); self.cls=nn.Parameter(torch.randn(1,1,64)); self.enc=nn.TransformerEncoderLayer(64,4,128,batch_first=True,norm_first=True); self.fc=nn.Linear(64,10)
    def forward(self,x):
        t=self.p(x).flatten(2).transpose(1,2); t=torch.cat([self.cls.expand(x.shape[0],-1,-1),t],1); return self.fc(self.enc(t)[:,0])


class UNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.d=nn.Conv2d(3,16,3,stride=2,padding=1); self.u=nn.ConvTranspose2d(16,8,2,stride=2); self.c=nn.Conv2d(11,4,3,padding=1)
    def forward(self,x):
        y=self.u(torch.relu(self.d(x))); y2=torch.nn.functional.interpolate(self.d(x),scale_factor=2,mode='bilinear',align_corners=False)[:, :3]
        return self.c(torch.cat([y,x+y2],1))


class SENet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,32,3,padding=1); self.dw=nn.Conv2d(32,32,5,padding=2,groups=32); self.f1=nn.Conv2d(32,8,1); self.f2=nn.Conv2d(8,32,1); self.h=nn.Hardswish(); self.cls=nn.Linear(32,10)
    def forward(self,x):
        y=self.h(self.dw(self.h(self.c(x)))); se=torch.sigmoid(self.f2(torch.relu(self.f1(y.mean((2,3),keepdim=True))))); y=y*se
        return self.cls(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y,1),1))


class TopKNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc=nn.Linear(16,32)
    def forward(self,x): v,i=torch.topk(self.fc(x),5); return v, i


class CumsumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc=nn.Linear(16,16)
    def forward(self,x): return torch.cumsum(self.fc(x),-1)


class EinsumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.w=nn.Parameter(torch.randn(16,8))
    def forward(self,x): return torch.einsum('bti,io->bto',x,self.w)


class MaxPoolCeil(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3); self.p=nn.MaxPool2d(3,2,ceil_mode=True); self.a=nn.AvgPool2d(3,2,padding=1,count_include_pad=False)
    def forward(self,x): return self.a(self.p(torch.relu(self.c(x))))


class Conv3x3Dil(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3,dilation=2,padding=2); self.c2=nn.Conv2d(8,8,(1,7),padding=(0,3)); self.c3=nn.Conv2d(8,8,3,padding=1,padding_mode='reflect')
    def forward(self,x): return self.c3(self.c2(torch.relu(self.c(x))))


class ConvNeXtBlock(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.stem=nn.Conv2d(3,d,4,stride=4); self.dw=nn.Conv2d(d,d,7,padding=3,groups=d); self.ln=nn.LayerNorm(d); self.f1=nn.Linear(d,4*d); self.f2=nn.Linear(4*d,d); self.g=nn.Parameter(torch.full((d,),0.5)); self.head=nn.Linear(d,10)
    def forward(self,x):
        x=self.stem(x); y=self.dw(x).permute(0,2,3,1); y=self.f2(F.gelu(self.f1(self.ln(y))))*self.g; x=x+y.permute(0,3,1,2); return self.head(x.mean((2,3)))


class MBConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,16,3,2,1); self.bn=nn.BatchNorm2d(16); self.e=nn.Conv2d(16,64,1); self.dw=nn.Conv2d(64,64,5,2,2,groups=64); self.se1=nn.Conv2d(64,4,1); self.se2=nn.Conv2d(4,64,1); self.p=nn.Conv2d(64,24,1); self.bn2=nn.BatchNorm2d(24)
    def forward(self,x):
        x=F.silu(self.bn(self.c(x))); y=F.silu(self.dw(F.silu(self.e(x)))); y=y*torch.sigmoid(self.se2(F.silu(self.se1(F.adaptive_avg_pool2d(y,1))))); return self.bn2(self.p(y))


class DWMult(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(8,16,3,padding=1,groups=8); self.c2=nn.Conv2d(16,16,3,padding=2,dilation=2,groups=16); self.c3=nn.Conv2d(16,4,1)
    def forward(self,x): return self.c3(F.relu(self.c2(F.relu(self.c(x)))))


class Shuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,16,3,padding=1); self.c2=nn.Conv2d(16,16,1,groups=4); self.ps=nn.PixelShuffle(2); self.c3=nn.Conv2d(4,4,3,padding=1)
    def forward(self,x):
        y=F.relu(self.c(x)); b,c,h,w=y.shape; y=y.view(b,4,4,h,w).transpose(1,2).reshape(b,16,h,w); y=F.relu(self.c2(y)); return self.c3(self.ps(y))


class FPN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1=nn.Conv2d(3,16,3,2,1); self.c2=nn.Conv2d(16,32,3,2,1); self.l1=nn.Conv2d(16,16,1); self.l2=nn.Conv2d(32,16,1); self.o=nn.Conv2d(16,8,3,padding=1)
    def forward(self,x):
        a=F.relu(self.c1(x)); b=F.relu(self.c2(a)); p=self.l1(a)+F.interpolate(self.l2(b),scale_factor=2,mode='nearest'); return self.o(p)


class AdaptivePool(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3); self.fc=nn.Linear(8*7*7,10)
    def forward(self,x): return F.log_softmax(self.fc(torch.flatten(F.adaptive_avg_pool2d(F.relu(self.c(x)),7),1)),-1)


class BN1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.f=nn.Linear(20,32); self.bn=nn.BatchNorm1d(32); self.f2=nn.Linear(32,5); self.ln=nn.LayerNorm(5)
    def forward(self,x): return self.ln(self.f2(F.relu(self.bn(self.f(x)))))


class Swinish(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,16,2,2); self.f=nn.Linear(16,16)
    def forward(self,x):
        y=self.c(x).permute(0,2,3,1); y=torch.roll(y,shifts=(-2,-2),dims=(1,2)); return self.f(y)


class Conv3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv3d(2,4,3)
    def forward(self,x): return self.c(x)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1=nn.Conv2d(8,8,3,padding=1); self.c2=nn.Conv2d(8,8,3,padding=1); self.s=nn.Conv2d(8,8,1)
    def forward(self,x):
        y=F.relu(self.c1(x)); y=self.c2(y)*3.0; return F.relu(y + self.s(x)*0.1)


class ConvT(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3,padding=1); self.t=nn.ConvTranspose2d(8,8,3,stride=2,padding=1,output_padding=1,groups=2); self.o=nn.Conv2d(8,2,1)
    def forward(self,x): return self.o(F.relu(self.t(F.relu(self.c(x)))))


class InstNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3,padding=1,padding_mode='reflect'); self.n=nn.InstanceNorm2d(8,affine=True); self.c2=nn.Conv2d(8,3,3,padding=1)
    def forward(self,x): return torch.tanh(self.c2(F.relu(self.n(self.c(x)))))


class MaxPoolDil(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv2d(3,8,3); self.p=nn.MaxPool2d(3,1,padding=1,dilation=1); self.a=nn.AvgPool2d(2,2,ceil_mode=True)
    def forward(self,x): return self.a(self.p(F.relu(self.c(x))))
class TEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.e=nn.Linear(16,32); self.t=nn.TransformerEncoderLayer(32,4,64,batch_first=True,dropout=0.0); self.o=nn.Linear(32,3)
    def forward(self,x): return self.o(self.t(self.e(x)))


class YoloNeck(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Conv2d(3,16,3,2,1); self.b=nn.Conv2d(16,32,3,2,1); self.u=nn.Upsample(scale_factor=2,mode='nearest'); self.c=nn.Conv2d(48,8,1)
    def forward(self,x):
        a=F.silu(self.a(x)); b=F.silu(self.b(a)); return torch.sigmoid(self.c(torch.cat([self.u(b),a],1)))


class Bilinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Conv2d(3,8,3,padding=1)
    def forward(self,x): return F.interpolate(self.a(x),scale_factor=2,mode='bilinear',align_corners=False)


class ReflectPad(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Conv2d(3,8,3)
    def forward(self,x): return F.hardswish(self.a(F.pad(x,(1,1,1,1),mode='reflect')))


class Speech(nn.Module):
    def __init__(self):
        super().__init__()
        self.c=nn.Conv1d(40,64,3,padding=1); self.g=nn.GRU(64,32,batch_first=True,bidirectional=True); self.o=nn.Linear(64,30)
    def forward(self,x):
        y=F.relu(self.c(x)).transpose(1,2); y,_=self.g(y); return F.log_softmax(self.o(y),-1)


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.n=nn.LayerNorm(32); self.t=nn.Linear(16,16); self.c=nn.Linear(32,64); self.c2=nn.Linear(64,32)
    def forward(self,x):
        x=x+self.t(self.n(x).transpose(1,2)).transpose(1,2); return x+self.c2(F.gelu(self.c(self.n(x))))


class GLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Linear(20,40); self.b=nn.Linear(20,8)
    def forward(self,x): return F.softplus(self.b(F.glu(self.a(x),-1)))


class MaskedMeanPool(nn.Module):
    """Token ids -> masked mean pooling -> L2 normalise, as sentence encoders end."""
    def __init__(self):
        super().__init__()
        self.e=nn.Embedding(50,24); self.l=nn.Linear(24,24)
    def forward(self,ids):
        m=(ids>0).float().unsqueeze(-1); h=torch.tanh(self.l(self.e(ids)))
        return F.normalize((h*m).sum(1)/m.sum(1).clamp(min=1e-9),dim=-1)


class ArgmaxHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.l=nn.Linear(10,6)
    def forward(self,x): y=self.l(x); return y.argmax(-1), y.amax(-1), y.clamp(-0.5,0.5).amin(-1)


class EffNetStem(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Conv2d(3,16,3,2,1); self.bn=nn.BatchNorm2d(16); self.d=nn.Conv2d(16,16,5,1,2,groups=16); self.p=nn.Conv2d(16,24,1); self.f=nn.Linear(24,10)
    def forward(self,x):
        y=F.silu(self.bn(self.a(x))); y=F.silu(self.d(y)); y=self.p(y); return self.f(F.adaptive_avg_pool2d(y,1).flatten(1))


class LayerNormNHWC(nn.Module):
    def __init__(self):
        super().__init__()
        self.a=nn.Conv2d(3,16,3,padding=1); self.n=nn.LayerNorm(16)
    def forward(self,x): return self.n(self.a(x).permute(0,2,3,1)).permute(0,3,1,2)


class InPlaceWrites(nn.Module):
    """Slice assignment and scatter_: exported as ScatterND / ScatterElements."""
    def __init__(self):
        super().__init__()
        self.a=nn.Linear(8,8)
    def forward(self,x):
        y=self.a(x).clone(); y[:,2]=0.0; y[0]=y[0]*2
        idx=torch.argsort(y,dim=-1)[:,:2]
        return y.scatter(-1, idx, torch.ones_like(idx, dtype=y.dtype))


# name -> (module, input generator[, dynamic axes of input "x", other input shapes to run])
cases = {
 'prelu': (PReluNet(), lambda: torch.randn(1,3,20,20)),
 'conv1d': (Conv1dNet(), lambda: torch.randn(1,40,50)),
 'lstm': (LSTMNet(), lambda: torch.randn(1,12,32)),
 'gru': (GRUNet(), lambda: torch.randn(1,12,32)),
 'groupnorm': (GroupNormNet(), lambda: torch.randn(1,3,16,16)),
 'causal_lm': (CausalLM(), lambda: torch.randint(0,100,(1,16))),
 'sdpa': (SDPA(), lambda: torch.randn(1,16,64)),
 'vit': (ViTPatch(), lambda: torch.randn(1,3,32,32)),
 'unet': (UNetish(), lambda: torch.randn(1,3,16,16)),
 'senet': (SENet(), lambda: torch.randn(1,3,24,24)),
 'topk': (TopKNet(), lambda: torch.randn(2,16)),
 'cumsum': (CumsumNet(), lambda: torch.randn(2,16)),
 'einsum': (EinsumNet(), lambda: torch.randn(2,5,16)),
 'maxpoolceil': (MaxPoolCeil(), lambda: torch.randn(1,3,17,17)),
 'dilated': (Conv3x3Dil(), lambda: torch.randn(1,3,17,17)),
 'convnext': (ConvNeXtBlock(), lambda: torch.randn(1,3,32,32)),
 'mbconv': (MBConv(), lambda: torch.randn(1,3,32,32)),
 'dwmult': (DWMult(), lambda: torch.randn(1,8,12,12)),
 'shuffle': (Shuffle(), lambda: torch.randn(1,3,10,10)),
 'fpn': (FPN(), lambda: torch.randn(1,3,32,32)),
 'adaptive': (AdaptivePool(), lambda: torch.randn(1,3,30,30)),
 'bn1d': (BN1d(), lambda: torch.randn(4,20)),
 'swin': (Swinish(), lambda: torch.randn(1,3,16,16)),
 'conv3d': (Conv3d(), lambda: torch.randn(1,2,5,6,7)),
 'residual': (Residual(), lambda: torch.randn(1,8,10,10)),
 'convt': (ConvT(), lambda: torch.randn(1,3,8,8)),
 'instnorm': (InstNorm(), lambda: torch.randn(1,3,16,16)),
 'maxpool': (MaxPoolDil(), lambda: torch.randn(1,3,15,15)),
 # Exported with dynamic axes; also run at the listed other input shapes (a service batching
 # requests of varying size and length), each against ONNX Runtime at the same shape.
 'tencoder': (TEncoder(), lambda: torch.randn(2,10,16)),  # its export bakes batch and length in
 'yolo': (YoloNeck(), lambda: torch.randn(1,3,32,32), {0:'b',2:'h',3:'w'}, [(2,3,32,32),(1,3,48,64)]),
 'bilinear': (Bilinear(), lambda: torch.randn(1,3,12,12), {0:'b'}, [(3,3,12,12)]),
 'reflect': (ReflectPad(), lambda: torch.randn(1,3,12,12), {0:'b'}, [(2,3,12,12)]),
 'speech': (Speech(), lambda: torch.randn(1,40,30), {0:'b',2:'t'}, [(2,40,17),(1,40,45)]),
 'mixer': (Mixer(), lambda: torch.randn(2,16,32), {0:'b'}, [(5,16,32)]),
 'glu': (GLUNet(), lambda: torch.randn(4,20), {0:'b'}, [(1,20),(9,20)]),
 'meanpool': (MaskedMeanPool(), lambda: torch.randint(0,50,(2,9)), {0:'b',1:'s'}, [(3,5),(1,20)]),
 'argmax': (ArgmaxHead(), lambda: torch.randn(4,10), {0:'b'}, [(7,10)]),
 'effnet': (EffNetStem(), lambda: torch.randn(1,3,32,32), {0:'b'}, [(2,3,32,32)]),
 'ln_nhwc': (LayerNormNHWC(), lambda: torch.randn(1,3,8,8), {0:'b'}, [(2,3,8,8)]),
 'inplace': (InPlaceWrites(), lambda: torch.randn(6,8), {0:'b'}, [(3,8)]),
}

# Models qrt refuses on purpose, with the words its error must contain.
EXPECTED_REFUSALS = {"conv3d": "only 1-D and 2-D Conv"}
MODES = ["fp32", "int8", "int8-dynamic", "fp16"]


def _like(x: torch.Tensor, shape: tuple) -> torch.Tensor:
    return torch.randint(0, int(x.max()) + 1, shape) if x.dtype == torch.int64 else torch.randn(*shape)


def _errors(got: list, ref: list) -> list:
    errs = []
    for a, b in zip(got, ref):
        if a.shape != b.shape:
            raise AssertionError(f"output shape {a.shape}, ONNX Runtime {b.shape}")
        if a.dtype.kind == "f":
            errs.append(float(np.abs(a - b).max() / (np.abs(b).max() + 1e-12)))
        else:
            errs.append(int((a != b).sum()))
    return errs


def export(m: nn.Module, x: torch.Tensor, path: Path, axes: dict | None, exporter: str) -> None:
    """torchscript: the legacy exporter at opset 17 (what qrt's own PyTorch frontend uses);
    dynamo: torch.export-based, the default of torch.onnx.export since PyTorch 2.9 (opset 18+,
    needs onnxscript), with the same dynamic axes as torch.export dims."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            dims = {i: torch.export.Dim.AUTO for i in axes} if axes else None
            torch.onnx.export(m, (x,), str(path), input_names=["x"], dynamo=True, verbose=False,
                              dynamic_shapes=(dims,) if dims else None)
        else:
            torch.onnx.export(m, (x,), str(path), opset_version=17, input_names=["x"], dynamo=False,
                              dynamic_axes={"x": axes} if axes else None)


def check(name: str, modes: list[str], work: Path, exporter: str = "torchscript") -> list[dict]:
    m, gen, *dyn = cases[name]
    axes, shapes = dyn if dyn else (None, [])
    m.eval()
    x = gen()
    path = work / f"{name}.onnx"
    try:
        export(m, x, path, axes, exporter)
    except Exception as e:  # an exporter limitation, not qrt's: listed, not counted
        return [{"model": name, "mode": "export", "status": "export-failed",
                 "error": f"{type(e).__name__}: {e}".replace("\n", " | ")}]
    so = ort.SessionOptions()
    so.log_severity_level = 3
    ort_sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    inputs, refs, ort_refused = [], [], []
    for xi in [x] + [_like(x, s) for s in shapes]:
        try:
            refs.append(ort_sess.run(None, {"x": xi.numpy()}))
            inputs.append(xi)
        except Exception:  # the export fixed a dimension: not a shape this model runs at
            if not inputs:
                raise
            ort_refused.append(list(xi.shape))
    rows = []
    for mode in modes:
        calib = [{"x": gen().numpy()} for _ in range(8)] if mode == "int8" else None
        row = {"model": name, "mode": mode}
        try:
            out = work / f"{name}.{mode}.qmodel"
            qrt.convert(str(path), str(out), mode=mode, calibration=calib, progress=False)
            sess = qrt.InferenceSession(str(out))
            # one error list per output: the worst over the input shapes
            per_shape = [_errors(sess.run(None, {"x": xi.numpy()}), r) for xi, r in zip(inputs, refs)]
            row.update(status="ok", errors=[max(col) for col in zip(*per_shape)],
                       shapes=[list(xi.shape) for xi in inputs], ort_refused_shapes=ort_refused)
        except Exception as e:  # the report is the point: every failure is listed
            row.update(status="error", error=f"{type(e).__name__}: {e}".replace("\n", " | "))
        rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"models (default all: {', '.join(cases)})")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript",
                    help="torch.onnx.export path (dynamo: the PyTorch >= 2.9 default; needs onnxscript)")
    args = ap.parse_args()
    names = args.names or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; known: {', '.join(cases)}")
    rows, bad = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for r in check(name, args.modes.split(","), Path(tmp), args.exporter):
                rows.append(r)
                if r["status"] == "export-failed":
                    print(f"{r['model']:<12} {'export':<13} export failed (not counted): {r['error'][:160]}")
                elif r["status"] == "ok":
                    e = ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r["errors"])
                    more = f"   (worst of shapes {r['shapes']})" if len(r["shapes"]) > 1 else ""
                    if r["ort_refused_shapes"]:
                        more += f"   (ONNX Runtime refuses {r['ort_refused_shapes']}: not checked)"
                    print(f"{r['model']:<12} {r['mode']:<13} ok     {e}{more}")
                    if r["mode"] == "fp32" and any(isinstance(v, float) and v > 1e-4 for v in r["errors"]):
                        bad.append(r)
                else:
                    expected = EXPECTED_REFUSALS.get(name)
                    tag = "refused" if expected and expected in r["error"] else "FAILED"
                    print(f"{r['model']:<12} {r['mode']:<13} {tag:<6} {r['error'][:160]}")
                    if tag == "FAILED":
                        bad.append(r)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(f"{len(rows)} conversions, {len(bad)} unexpected failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
