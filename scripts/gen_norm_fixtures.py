#!/usr/bin/env python3
"""
@file Writes test/fixtures/norm.json: PyTorch reference values for test/ops/norm.test.ts and
test/ops/attention.test.ts (layerNorm, rmsNorm, groupNorm, batchNorm, scaledDotProductAttention).

Run:  /usr/bin/python3 scripts/gen_norm_fixtures.py

Deterministic: all data comes from one seeded torch.Generator and is rounded to 3 decimals and
then to float32, so every input is exactly representable in float32 (the tests run each case in
float64 and in float32). References are computed in float64:
  - layer_norm, group_norm, batch_norm: torch.nn.functional (torch 1.13);
  - rms_norm: torch 1.13 has none, so the PyTorch 2.4 definition by formula,
    y = x * rsqrt(mean(x^2 over the normalised dims) + eps) * weight;
  - scaled dot-product attention: torch 1.13 has no public F.scaled_dot_product_attention, so the
    reference implementation from the PyTorch 2.x documentation, with matmul, masked_fill and
    softmax (bool mask keeps where True; float mask is added; is_causal = tril(ones(L, S))).
For every case the gradient of sum(out * cot) (a fixed random cotangent `cot`) with respect to each
input marked `grad` is stored. batchNorm cases run several training steps and store the running
statistics after each.

JSON: tensors are {"shape": [...], "data": [...]}; NaN / Infinity are the strings "nan", "inf",
"-inf"; bool masks are 0/1 with "dtype": "bool".
"""
import json
import math
import os
import platform
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'norm.json')
GEN = torch.Generator().manual_seed(20241127)
torch.set_default_dtype(torch.float64)


def randn(*shape, scale=1.0, shift=0.0):
    """float64 values that are float32 numbers with at most 3 decimals."""
    x = torch.randn(shape, generator=GEN, dtype=torch.float64) * scale + shift
    return torch.round(x, decimals=3).float().double()


def rand_bool(*shape, p=0.7):
    return torch.rand(shape, generator=GEN) < p


def num(v):
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return v


def enc(t):
    if t is None:
        return None
    if t.dtype == torch.bool:
        return {'shape': list(t.shape), 'dtype': 'bool', 'data': [int(v) for v in t.reshape(-1).tolist()]}
    return {'shape': list(t.shape), 'data': [num(v) for v in t.detach().reshape(-1).tolist()]}


def grads_of(out, cot, inputs):
    """d sum(out * cot) / d input for each input that requires grad (None otherwise)."""
    wanted = [t for t in inputs.values() if t is not None and t.requires_grad]
    gs = torch.autograd.grad((out * cot).sum(), wanted, allow_unused=True) if wanted else []
    res, k = {}, 0
    for name, t in inputs.items():
        if t is not None and t.requires_grad:
            res[name] = enc(gs[k] if gs[k] is not None else torch.zeros_like(t))
            k += 1
    return res


def leaf(t, grad=True):
    return None if t is None else t.clone().requires_grad_(grad)


CASES = []

# ------------------------------------------------------------------ layerNorm


def layer_case(name, xshape, ns, weight, bias, eps=1e-5, scale=1.0, shift=0.0):
    x = leaf(randn(*xshape, scale=scale, shift=shift))
    w = leaf(randn(*ns, scale=0.5, shift=1.0)) if weight else None
    b = leaf(randn(*ns, scale=0.5)) if bias else None
    out = F.layer_norm(x, ns, w, b, eps)
    cot = randn(*out.shape)
    CASES.append({
        'name': f'layerNorm/{name}', 'op': 'layerNorm', 'args': {'normalizedShape': ns, 'eps': eps},
        'inputs': {'x': enc(x), 'weight': enc(w), 'bias': enc(b)}, 'cot': enc(cot), 'out': enc(out),
        'grads': grads_of(out, cot, {'x': x, 'weight': w, 'bias': b}),
    })


layer_case('last dim, affine', [3, 5], [5], True, True)
layer_case('two dims, no affine', [2, 3, 4], [3, 4], False, False)
layer_case('three dims, affine', [2, 2, 3, 4], [2, 3, 4], True, True)
layer_case('weight only, 1-D input', [7], [7], True, False)
layer_case('eps 1e-3, small variance', [4, 6], [6], True, True, eps=1e-3, scale=0.02)
layer_case('mean 1000 (two-pass statistics)', [3, 8], [8], True, True, shift=1000.0)

# ------------------------------------------------------------------ rmsNorm (PyTorch 2.4 formula)


def rms_norm(x, ns, w, eps):
    dims = tuple(range(x.dim() - len(ns), x.dim()))
    y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
    return y * w if w is not None else y


def rms_case(name, xshape, ns, weight, eps):
    x = leaf(randn(*xshape))
    w = leaf(randn(*ns, scale=0.5, shift=1.0)) if weight else None
    # eps None: torch.finfo(x.dtype).eps; the float64 reference uses float64's (the float32 run
    # differs by ~1e-7 / mean(x^2), inside its tolerance)
    out = rms_norm(x, ns, w, torch.finfo(torch.float64).eps if eps is None else eps)
    cot = randn(*out.shape)
    CASES.append({
        'name': f'rmsNorm/{name}', 'op': 'rmsNorm', 'args': {'normalizedShape': ns, 'eps': eps},
        'inputs': {'x': enc(x), 'weight': enc(w)}, 'cot': enc(cot), 'out': enc(out),
        'grads': grads_of(out, cot, {'x': x, 'weight': w}),
    })


rms_case('last dim, weight, default eps', [3, 6], [6], True, None)
rms_case('two dims, no weight, eps 1e-6', [2, 3, 4], [3, 4], False, 1e-6)
rms_case('weight, eps 0.1', [5, 4], [4], True, 0.1)

# ------------------------------------------------------------------ groupNorm


def group_case(name, xshape, groups, affine, eps=1e-5):
    C = xshape[1]
    x = leaf(randn(*xshape, shift=0.3))
    w = leaf(randn(C, scale=0.5, shift=1.0)) if affine else None
    b = leaf(randn(C, scale=0.5)) if affine else None
    out = F.group_norm(x, groups, w, b, eps)
    cot = randn(*out.shape)
    CASES.append({
        'name': f'groupNorm/{name}', 'op': 'groupNorm', 'args': {'numGroups': groups, 'eps': eps},
        'inputs': {'x': enc(x), 'weight': enc(w), 'bias': enc(b)}, 'cot': enc(cot), 'out': enc(out),
        'grads': grads_of(out, cot, {'x': x, 'weight': w, 'bias': b}),
    })


group_case('(2, 6, 5), 3 groups, affine', [2, 6, 5], 3, True)
group_case('(2, 4, 3, 3), 2 groups, affine', [2, 4, 3, 3], 2, True)
group_case('(3, 4), 2 groups, no affine', [3, 4], 2, False)
group_case('(2, 4, 3), groups = channels', [2, 4, 3], 4, True)
group_case('(2, 4, 3), one group', [2, 4, 3], 1, True, eps=1e-3)

# ------------------------------------------------------------------ batchNorm


def batch_case(name, xshape, steps, affine, momentum=0.1, eps=1e-5, training=True):
    C = xshape[1]
    rm = randn(C, scale=0.2)
    rv = randn(C, scale=0.2).abs() + 0.5
    w = leaf(randn(C, scale=0.5, shift=1.0)) if affine else None
    b = leaf(randn(C, scale=0.5)) if affine else None
    case = {
        'name': f'batchNorm/{name}', 'op': 'batchNorm',
        'args': {'training': training, 'momentum': momentum, 'eps': eps},
        'inputs': {'weight': enc(w), 'bias': enc(b)},
        'runningMean': enc(rm), 'runningVar': enc(rv), 'steps': [],
    }
    for _ in range(steps):
        x = leaf(randn(*xshape, shift=0.5))
        out = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
        cot = randn(*out.shape)
        case['steps'].append({
            'x': enc(x), 'cot': enc(cot), 'out': enc(out),
            'grads': grads_of(out, cot, {'x': x, 'weight': w, 'bias': b}),
            'runningMean': enc(rm), 'runningVar': enc(rv),
        })
    CASES.append(case)


batch_case('training (6, 3), affine, 3 steps', [6, 3], 3, True)
batch_case('training (4, 3, 5), no affine, momentum 0.3, 2 steps', [4, 3, 5], 2, False, momentum=0.3)
batch_case('training (2, 3, 2, 2), affine, 4 steps', [2, 3, 2, 2], 4, True)
batch_case('eval (2, 3, 2, 2), affine', [2, 3, 2, 2], 1, True, training=False)
batch_case('eval (5, 4), no affine', [5, 4], 1, False, training=False)

# ------------------------------------------------------------------ scaled dot-product attention


def sdpa_ref(q, k, v, mask=None, is_causal=False, scale=None):
    """PyTorch 2.x documentation's reference implementation (no dropout), with broadcasting masks: bool
    and causal masks become an additive bias (0 / -inf) that is added to the scores, as the math
    kernel does (convert_boolean_attn_mask), so a fully masked row's NaN reaches dq, dk and dv."""
    L, S = q.size(-2), k.size(-2)
    scale_factor = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    w = q @ k.transpose(-2, -1) * scale_factor
    if is_causal:
        keep = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        w = w + torch.zeros(L, S).masked_fill(keep.logical_not(), float('-inf'))
    if mask is not None:
        w = w + (torch.zeros(mask.shape).masked_fill(mask.logical_not(), float('-inf')) if mask.dtype == torch.bool else mask)
    return torch.softmax(w, dim=-1) @ v


def sdpa_case(name, qs, ks, vs, mask=None, causal=False, scale=None, mask_grad=False):
    q, k, v = leaf(randn(*qs)), leaf(randn(*ks)), leaf(randn(*vs))
    if mask is not None and mask.dtype != torch.bool:
        mask = leaf(mask, mask_grad)
    out = sdpa_ref(q, k, v, mask, causal, scale)
    cot = randn(*out.shape)
    inputs = {'q': q, 'k': k, 'v': v}
    if mask is not None and mask.requires_grad:
        inputs['mask'] = mask
    CASES.append({
        'name': f'sdpa/{name}', 'op': 'scaledDotProductAttention',
        'args': {'isCausal': causal, 'scale': scale, 'maskGrad': mask_grad},
        'inputs': {'q': enc(q), 'k': enc(k), 'v': enc(v), 'mask': enc(mask)},
        'cot': enc(cot), 'out': enc(out), 'grads': grads_of(out, cot, inputs),
    })


def keep_mask(*shape):
    """A bool mask with at least one True per row (last dim)."""
    m = rand_bool(*shape)
    m[..., 0] |= ~m.any(-1)
    return m


sdpa_case('(2, 5, 4) x (2, 7, 4) x (2, 7, 3)', [2, 5, 4], [2, 7, 4], [2, 7, 3])
sdpa_case('causal, L < S, 4-D', [1, 2, 5, 8], [1, 2, 9, 8], [1, 2, 9, 6], causal=True)
sdpa_case('causal, L > S', [2, 9, 4], [2, 5, 4], [2, 5, 3], causal=True)
sdpa_case('bool mask (L, S)', [2, 6, 4], [2, 7, 4], [2, 7, 5], mask=keep_mask(6, 7))
sdpa_case('padding mask (B, 1, 1, S), 4-D', [2, 2, 5, 4], [2, 2, 6, 4], [2, 2, 6, 3], mask=keep_mask(2, 1, 1, 6))
sdpa_case('float mask (B, 1, L, S)', [2, 3, 4, 5], [2, 3, 6, 5], [2, 3, 6, 2], mask=randn(2, 1, 4, 6))
sdpa_case('float mask with grad (L, S)', [3, 4], [5, 4], [5, 3], mask=randn(3, 5), mask_grad=True)
sdpa_case('k, v shared across heads (B, 1, S, E)', [2, 3, 4, 5], [2, 1, 6, 5], [2, 1, 6, 4])
sdpa_case('scale 0.3', [1, 4, 6], [1, 5, 6], [1, 5, 6], scale=0.3)
sdpa_case('odd tiles: L 67, S 70, E 5, Ev 3', [1, 67, 5], [1, 70, 5], [1, 70, 3])
sdpa_case('odd tiles, causal: L 70, S 67', [1, 70, 4], [1, 67, 4], [1, 67, 3], causal=True)
row_masked = keep_mask(4, 6)
row_masked[2] = False
sdpa_case('fully masked row gives NaN', [4, 3], [6, 3], [6, 2], mask=row_masked)


def main():
    doc = {
        'generator': f'/usr/bin/python3 scripts/gen_norm_fixtures.py (torch {torch.__version__}, numpy {np.__version__}, '
                     f'python {platform.python_version()})',
        'note': 'Inputs are float32 numbers; references float64. grads are d sum(out * cot) / d input. '
                'rmsNorm and sdpa references are formulas (torch 1.13 lacks both ops). NaN/Infinity are "nan", "inf", "-inf".',
        'cases': CASES,
    }
    text = json.dumps(doc, separators=(',', ':'))
    with open(OUT, 'w') as f:
        f.write(text)
    print(f'wrote {OUT}: {len(CASES)} cases, {len(text) / 1024:.0f} KiB', file=sys.stderr)


if __name__ == '__main__':
    main()
