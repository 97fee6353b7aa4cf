#!/usr/bin/env python3
"""
@file Writes test/fixtures/conv.json: PyTorch reference values for test/ops/conv.test.ts
(convolutions, transposed convolutions, unfold/fold, max/avg/adaptive pooling).

Run:  /usr/bin/python3 scripts/gen_conv_fixtures.py

Deterministic: inputs come from one seeded torch.Generator, rounded to 3 decimals (4 for max
pooling, so that windows rarely tie) and then to float32, so every input is exact in float32 and
prints short. References are computed in float64 from those values: the forward output, and the
gradient of sum(out * dy) for a fixed cotangent dy with respect to each float input. Max-pool
indices are int64 in torch and int32 in tessera.

Each case names the tessera function (`fn`) and its options in tessera's camelCase form (`opts`);
`torch_call` maps them to torch.nn.functional.
"""
import json
import os
import warnings

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'conv.json')
warnings.filterwarnings('ignore')
GEN = torch.Generator().manual_seed(20240612)


def randn(*shape, digits=3):
    x = torch.randn(shape, generator=GEN, dtype=torch.float64)
    return torch.round(x, decimals=digits).float().double()


SNAKE = {'outputPadding': 'output_padding', 'kernelSize': 'kernel_size', 'ceilMode': 'ceil_mode',
         'countIncludePad': 'count_include_pad', 'divisorOverride': 'divisor_override',
         'returnIndices': 'return_indices', 'outputSize': 'output_size'}


def torch_kwargs(opts):
    return {SNAKE.get(k, k): tuple(v) if isinstance(v, list) else v for k, v in opts.items()}


def torch_call(fn, inputs, opts, extra):
    kw = torch_kwargs(opts)
    name = {
        'conv1d': 'conv1d', 'conv2d': 'conv2d', 'conv3d': 'conv3d',
        'convTranspose1d': 'conv_transpose1d', 'convTranspose2d': 'conv_transpose2d', 'convTranspose3d': 'conv_transpose3d',
        'unfold': 'unfold', 'fold': 'fold', 'maxPool1d': 'max_pool1d', 'maxPool2d': 'max_pool2d',
        'avgPool1d': 'avg_pool1d', 'avgPool2d': 'avg_pool2d', 'adaptiveAvgPool1d': 'adaptive_avg_pool1d',
        'adaptiveAvgPool2d': 'adaptive_avg_pool2d', 'adaptiveMaxPool1d': 'adaptive_max_pool1d',
        'adaptiveMaxPool2d': 'adaptive_max_pool2d',
    }[fn]
    f = getattr(F, name)
    if fn.startswith('conv'):
        x, w = inputs['x'], inputs['weight']
        return f(x, w, inputs.get('bias'), **kw)
    if fn.startswith('adaptive'):
        size = extra['outputSize']
        size = tuple(size) if isinstance(size, list) else size
        if 'Max' in fn:
            return f(inputs['x'], size, return_indices=extra.get('returnIndices', False))
        return f(inputs['x'], size)
    return f(inputs['x'], **kw)


def enc(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.flatten().tolist()]}


def enc_ref(t):
    """Float64 reference values, 10 significant digits (tests compare at 1e-5 in float32, 1e-8 in float64)."""
    return {'shape': list(t.shape), 'data': [float(f'{v:.10g}') for v in t.flatten().tolist()]}


CASES = []


def case(label, fn, inputs, opts=None, extra=None, digits=3):
    """inputs: name -> shape; float inputs are random normals that all receive gradients."""
    opts = opts or {}
    extra = extra or {}
    vals = {k: randn(*s, digits=digits) for k, s in inputs.items()}
    CASES.append((label, fn, vals, opts, extra))


# ---------------------------------------------------------------- conv1d
case('conv1d k3 bias', 'conv1d', {'x': (2, 3, 10), 'weight': (4, 3, 3), 'bias': (4,)})
case('conv1d stride 2 pad 2 dilation 2', 'conv1d', {'x': (2, 3, 11), 'weight': (4, 3, 3)}, {'stride': 2, 'padding': 2, 'dilation': 2})
case("conv1d padding 'same' even kernel (asymmetric)", 'conv1d', {'x': (1, 2, 7), 'weight': (3, 2, 4), 'bias': (3,)}, {'padding': 'same'})
case("conv1d padding 'valid'", 'conv1d', {'x': (1, 2, 7), 'weight': (3, 2, 3)}, {'padding': 'valid'})
case('conv1d groups 2', 'conv1d', {'x': (2, 4, 9), 'weight': (6, 2, 3), 'bias': (6,)}, {'groups': 2, 'padding': 1})
case('conv1d unbatched', 'conv1d', {'x': (3, 8), 'weight': (2, 3, 3), 'bias': (2,)}, {'stride': 2})
case("conv1d groups 3 dilation 2 padding 'same'", 'conv1d', {'x': (1, 6, 7), 'weight': (3, 2, 3)}, {'groups': 3, 'dilation': 2, 'padding': 'same'})
# ---------------------------------------------------------------- conv2d
case('conv2d 3x3 pad 1 bias', 'conv2d', {'x': (2, 3, 6, 7), 'weight': (4, 3, 3, 3), 'bias': (4,)}, {'padding': 1})
case('conv2d tuple stride/padding/dilation', 'conv2d', {'x': (2, 2, 7, 8), 'weight': (3, 2, 3, 2)}, {'stride': [2, 1], 'padding': [1, 2], 'dilation': [1, 2]})
case("conv2d padding 'same' kernel 2x4 dilation [2,1] (asymmetric)", 'conv2d', {'x': (1, 2, 5, 6), 'weight': (3, 2, 2, 4), 'bias': (3,)}, {'padding': 'same', 'dilation': [2, 1]})
case('conv2d groups 2', 'conv2d', {'x': (1, 4, 5, 5), 'weight': (6, 2, 3, 3), 'bias': (6,)}, {'groups': 2, 'padding': 1})
case('conv2d groups 3 stride 2', 'conv2d', {'x': (2, 6, 6, 5), 'weight': (3, 2, 2, 2)}, {'groups': 3, 'stride': 2})
case('conv2d depthwise multiplier 2 stride 2 pad 1', 'conv2d', {'x': (2, 3, 7, 6), 'weight': (6, 1, 3, 3), 'bias': (6,)}, {'groups': 3, 'stride': 2, 'padding': 1})
case("conv2d depthwise dilation 2 'same'", 'conv2d', {'x': (1, 4, 6, 6), 'weight': (4, 1, 3, 3)}, {'groups': 4, 'dilation': 2, 'padding': 'same'})
case('conv2d depthwise 5x3 stride [1,2] pad [2,0]', 'conv2d', {'x': (2, 2, 6, 7), 'weight': (2, 1, 5, 3)}, {'groups': 2, 'stride': [1, 2], 'padding': [2, 0]})
case('conv2d pointwise 1x1 bias', 'conv2d', {'x': (2, 3, 4, 5), 'weight': (5, 3, 1, 1), 'bias': (5,)})
case('conv2d unbatched', 'conv2d', {'x': (3, 5, 5), 'weight': (2, 3, 3, 3), 'bias': (2,)}, {'padding': 1})
case('conv2d stride 3 drops trailing rows', 'conv2d', {'x': (1, 2, 8, 7), 'weight': (2, 2, 2, 2)}, {'stride': 3})
case('conv2d kernel 5x1 padding [2,0]', 'conv2d', {'x': (1, 2, 6, 4), 'weight': (3, 2, 5, 1)}, {'padding': [2, 0]})
# ---------------------------------------------------------------- conv3d
case('conv3d pad 1 stride [1,2,2]', 'conv3d', {'x': (1, 2, 4, 5, 5), 'weight': (3, 2, 3, 3, 3), 'bias': (3,)}, {'padding': 1, 'stride': [1, 2, 2]})
case('conv3d groups 2 dilation 2', 'conv3d', {'x': (1, 4, 5, 5, 5), 'weight': (2, 2, 2, 2, 2)}, {'groups': 2, 'dilation': 2})
case('conv3d unbatched', 'conv3d', {'x': (2, 3, 4, 4), 'weight': (2, 2, 2, 2, 2)}, {'padding': [0, 1, 0]})
# ---------------------------------------------------------------- transposed
case('convTranspose1d stride 2 pad 1 outputPadding 1 bias', 'convTranspose1d', {'x': (2, 3, 5), 'weight': (3, 2, 3), 'bias': (2,)}, {'stride': 2, 'padding': 1, 'outputPadding': 1})
case('convTranspose1d groups 2 dilation 2', 'convTranspose1d', {'x': (1, 4, 6), 'weight': (4, 3, 3)}, {'groups': 2, 'dilation': 2})
case('convTranspose2d stride 2 pad 1 outputPadding 1', 'convTranspose2d', {'x': (1, 4, 3, 3), 'weight': (4, 3, 3, 3), 'bias': (3,)}, {'stride': 2, 'padding': 1, 'outputPadding': 1})
case('convTranspose2d tuples groups 2', 'convTranspose2d', {'x': (2, 4, 3, 4), 'weight': (4, 1, 2, 3)},
     {'stride': [2, 3], 'padding': [0, 1], 'outputPadding': [1, 2], 'groups': 2, 'dilation': [1, 2]})
case('convTranspose2d stride 1 dilation 2 outputPadding 1', 'convTranspose2d', {'x': (1, 2, 4, 4), 'weight': (2, 2, 3, 3)}, {'dilation': 2, 'outputPadding': 1})
case('convTranspose2d unbatched', 'convTranspose2d', {'x': (2, 3, 3), 'weight': (2, 3, 2, 2), 'bias': (3,)}, {'stride': 2})
case('convTranspose3d stride 2 pad 1', 'convTranspose3d', {'x': (1, 2, 2, 3, 2), 'weight': (2, 2, 3, 2, 2)}, {'stride': 2, 'padding': [1, 1, 0]})
# ---------------------------------------------------------------- unfold / fold
case('unfold kernel [2,3] dilation [1,2] padding 1 stride [2,1]', 'unfold', {'x': (2, 3, 5, 6)}, {'kernelSize': [2, 3], 'dilation': [1, 2], 'padding': 1, 'stride': [2, 1]})
case('unfold unbatched kernel 3', 'unfold', {'x': (2, 4, 4)}, {'kernelSize': 3})
case('fold overlapping kernel 2', 'fold', {'x': (2, 12, 12)}, {'outputSize': [4, 5], 'kernelSize': 2})
case('fold stride 2 padding 1 dilation 2', 'fold', {'x': (1, 8, 9)}, {'outputSize': [5, 6], 'kernelSize': 2, 'stride': 2, 'padding': 1, 'dilation': 2})
case('fold unbatched kernel [1,2]', 'fold', {'x': (6, 8)}, {'outputSize': [2, 5], 'kernelSize': [1, 2]})
# ---------------------------------------------------------------- max pooling
case('maxPool1d k3 s2 p1 indices', 'maxPool1d', {'x': (2, 3, 9)}, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'returnIndices': True}, digits=4)
case('maxPool1d ceilMode dilation 2', 'maxPool1d', {'x': (1, 2, 10)}, {'kernelSize': 2, 'stride': 3, 'dilation': 2, 'ceilMode': True, 'returnIndices': True}, digits=4)
case('maxPool2d k2 default stride', 'maxPool2d', {'x': (2, 2, 6, 5)}, {'kernelSize': 2, 'returnIndices': True}, digits=4)
case('maxPool2d k3 s2 p1 ceilMode dilation [1,2]', 'maxPool2d', {'x': (1, 2, 7, 9)}, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'dilation': [1, 2], 'returnIndices': True}, digits=4)
case('maxPool2d unbatched kernel [2,3] stride [1,2]', 'maxPool2d', {'x': (2, 4, 7)}, {'kernelSize': [2, 3], 'stride': [1, 2], 'returnIndices': True}, digits=4)
# ---------------------------------------------------------------- average pooling
case('avgPool1d k3 s2 p1 countIncludePad', 'avgPool1d', {'x': (2, 3, 9)}, {'kernelSize': 3, 'stride': 2, 'padding': 1})
case('avgPool1d ceilMode no countIncludePad', 'avgPool1d', {'x': (1, 2, 10)}, {'kernelSize': 4, 'stride': 3, 'padding': 2, 'ceilMode': True, 'countIncludePad': False})
case('avgPool2d k3 s2 p1 ceilMode countIncludePad', 'avgPool2d', {'x': (1, 2, 8, 7)}, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True})
case('avgPool2d k3 s2 p1 ceilMode no countIncludePad', 'avgPool2d', {'x': (1, 2, 8, 7)}, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False})
case('avgPool2d divisorOverride 5', 'avgPool2d', {'x': (2, 1, 5, 5)}, {'kernelSize': 2, 'stride': 1, 'padding': 1, 'divisorOverride': 5})
case('avgPool2d unbatched kernel [2,3] stride [2,1] padding 1', 'avgPool2d', {'x': (2, 5, 6)}, {'kernelSize': [2, 3], 'stride': [2, 1], 'padding': 1})
# ---------------------------------------------------------------- adaptive pooling
case('adaptiveAvgPool1d 10 -> 4', 'adaptiveAvgPool1d', {'x': (2, 3, 10)}, extra={'outputSize': 4})
case('adaptiveAvgPool2d [7,3] -> [3,5] (upsampling W)', 'adaptiveAvgPool2d', {'x': (1, 2, 7, 3)}, extra={'outputSize': [3, 5]})
case('adaptiveAvgPool2d [5,7] -> [null,3] unbatched', 'adaptiveAvgPool2d', {'x': (2, 5, 7)}, extra={'outputSize': [None, 3]})
case('adaptiveMaxPool2d [7,5] -> [3,2] indices', 'adaptiveMaxPool2d', {'x': (2, 2, 7, 5)}, extra={'outputSize': [3, 2], 'returnIndices': True}, digits=4)
case('adaptiveMaxPool1d 9 -> 4 unbatched indices', 'adaptiveMaxPool1d', {'x': (3, 9)}, extra={'outputSize': 4, 'returnIndices': True}, digits=4)


def run(label, fn, vals, opts, extra):
    inputs = {k: v.clone().requires_grad_(True) for k, v in vals.items()}
    out = torch_call(fn, inputs, opts, extra)
    indices = None
    if isinstance(out, tuple):
        out, indices = out
    dy = randn(*out.shape)
    (out * dy).sum().backward()
    c = {'label': label, 'fn': fn, 'opts': opts, 'inputs': {k: enc(v) for k, v in vals.items()},
         'out': enc_ref(out.detach()), 'dy': enc(dy), 'grads': {k: enc_ref(v.grad) for k, v in inputs.items()}}
    if extra:
        c['extra'] = extra
    if indices is not None:
        c['indices'] = {'shape': list(indices.shape), 'data': [int(i) for i in indices.flatten().tolist()]}
    return c


def main():
    torch.set_default_dtype(torch.float64)
    doc = {
        'generator': f'/usr/bin/python3 scripts/gen_conv_fixtures.py (torch {torch.__version__})',
        'cases': [run(*c) for c in CASES],
    }
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False)
    with open(OUT, 'w') as f:
        f.write(text + '\n')
    print(f'wrote {OUT}: {len(doc["cases"])} cases, {len(text)} bytes')


if __name__ == '__main__':
    main()
