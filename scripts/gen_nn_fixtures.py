#!/usr/bin/env python3
"""
@file Writes test/fixtures/nn.json: PyTorch reference values for the nn layers, losses, init
helpers and positional encodings, read by test/nn/*.test.ts.

Run:  /usr/bin/python3 scripts/gen_nn_fixtures.py

Deterministic: all random data comes from one seeded torch.Generator and is rounded to a few
decimals, then to float32, so every input is exactly representable in float32 and prints short.
References are computed in float64 (torch's default dtype set to float64). Gradients are of
sum_k (out_k * v_k).sum() for fixed cotangents v_k stored beside the outputs.

Sections:
  rnn       GRU / LSTM / RNN modules and cells: PyTorch state dicts (loaded into tessera by name),
            inputs, initial states, outputs, and gradients w.r.t. input, states and every weight.
  losses    every loss with each reduction, class weights, ignore_index, label smoothing, probability
            targets, pos_weight, log_target: output and gradients w.r.t. the float inputs marked grad.
  embedding Embedding with padding_idx (output, weight gradient); bilinear: Bilinear layers.
  init      calculate_gain, fans, kaiming / xavier bounds and stds, truncated-normal moments.
  rope      rotary embedding (half-split, HF LLaMA rotate_half) and the sinusoidal table, from formulas.

Index tensors are int32 in tessera (torch: int64). NaN is written as the string "nan".
"""
import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings('ignore', message="reduction: 'mean' divides")  # klDiv 'mean' is tested on purpose
torch.set_default_dtype(torch.float64)
torch.manual_seed(0)  # only the init section draws from the global generator (torch's own samples)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn.json')
GEN = torch.Generator().manual_seed(20240612)


def f32(x, digits=3):
    """float64 tensor holding float32-representable values rounded to `digits` decimals."""
    return torch.round(torch.as_tensor(x, dtype=torch.float64), decimals=digits).float().double()


def randn(*shape, scale=1.0, digits=3):
    return f32(torch.randn(shape, generator=GEN) * scale, digits)


def rand(*shape, lo=0.0, hi=1.0, digits=3):
    return f32(torch.rand(shape, generator=GEN) * (hi - lo) + lo, digits)


def num(v):
    v = float(v)
    return 'nan' if math.isnan(v) else ('inf' if v == math.inf else ('-inf' if v == -math.inf else v))


def T(t, dtype=None):
    """A tensor as {shape, dtype, data} (flat, row-major)."""
    t = t.detach()
    if dtype is None:
        dtype = 'int32' if t.dtype in (torch.int64, torch.int32) else 'float32'
    flat = t.reshape(-1).tolist()
    data = [int(v) for v in flat] if dtype == 'int32' else [num(v) for v in flat]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


def R(t):
    """A float64 reference value (outputs, gradients)."""
    return T(t, 'float64')


def long(data):
    return torch.tensor(data, dtype=torch.int64)


# ------------------------------------------------------------------ rnn


def rnn_case(name, kind, args, N, L, with_state=True, unbatched=False):
    """args: tessera option names; builds the torch module with the matching keywords."""
    I, H = args['inputSize'], args['hiddenSize']
    kw = {'bias': args.get('bias', True)}
    cell = kind.endswith('Cell')
    if cell:
        if kind == 'RNNCell':
            kw['nonlinearity'] = args.get('nonlinearity', 'tanh')
        m = getattr(nn, kind)(I, H, **kw)
    else:
        kw.update(num_layers=args.get('numLayers', 1), batch_first=args.get('batchFirst', False),
                  bidirectional=args.get('bidirectional', False))
        if kind == 'RNN':
            kw['nonlinearity'] = args.get('nonlinearity', 'tanh')
        if args.get('projSize'):
            kw['proj_size'] = args['projSize']
        m = getattr(nn, kind)(I, H, **kw)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(randn(*p.shape, scale=0.5))
    D = 2 if args.get('bidirectional') else 1
    layers = args.get('numLayers', 1)
    Hout = args.get('projSize') or H
    if cell:
        x = randn(I) if unbatched else randn(N, I)
        sh = (H,) if unbatched else (N, H)
    else:
        x = randn(L, I) if unbatched else (randn(N, L, I) if args.get('batchFirst') else randn(L, N, I))
        sh = (layers * D, Hout) if unbatched else (layers * D, N, Hout)
        shc = (layers * D, H) if unbatched else (layers * D, N, H)
    inputs = {'input': x.clone().requires_grad_()}
    if with_state:
        inputs['h0'] = randn(*sh).requires_grad_()
        if kind.startswith('LSTM'):
            inputs['c0'] = randn(*(sh if cell else shc)).requires_grad_()
    if kind == 'LSTMCell':
        h, c = m(inputs['input'], (inputs['h0'], inputs['c0'])) if with_state else m(inputs['input'])
        outs = {'h': h, 'c': c}
    elif cell:
        outs = {'h': m(inputs['input'], inputs['h0']) if with_state else m(inputs['input'])}
    elif kind == 'LSTM':
        out, (h, c) = m(inputs['input'], (inputs['h0'], inputs['c0'])) if with_state else m(inputs['input'])
        outs = {'output': out, 'h': h, 'c': c}
    else:
        out, h = m(inputs['input'], inputs['h0']) if with_state else m(inputs['input'])
        outs = {'output': out, 'h': h}
    vs = {k: randn(*o.shape) for k, o in outs.items()}
    loss = sum((o * vs[k]).sum() for k, o in outs.items())
    loss.backward()
    return {
        'name': name, 'kind': kind, 'args': args,
        'state': {k: T(v) for k, v in m.state_dict().items()},
        'inputs': {k: T(v) for k, v in inputs.items()},
        'outputs': {k: R(v) for k, v in outs.items()},
        'cotangents': {k: T(v) for k, v in vs.items()},
        'grads': {**{k: R(v.grad) for k, v in inputs.items()}, **{'param:' + k: R(p.grad) for k, p in m.named_parameters()}},
    }


def rnn_cases():
    return [
        rnn_case('GRU 2 layers, batchFirst, bidirectional, h0', 'GRU',
                 {'inputSize': 3, 'hiddenSize': 4, 'numLayers': 2, 'batchFirst': True, 'bidirectional': True}, N=2, L=5),
        rnn_case('LSTM 2 layers, bidirectional, (h0, c0)', 'LSTM',
                 {'inputSize': 3, 'hiddenSize': 4, 'numLayers': 2, 'bidirectional': True}, N=2, L=4),
        rnn_case('LSTM projSize 2, batchFirst, zero state', 'LSTM',
                 {'inputSize': 3, 'hiddenSize': 5, 'numLayers': 2, 'batchFirst': True, 'projSize': 2}, N=3, L=3, with_state=False),
        rnn_case('GRU no bias', 'GRU', {'inputSize': 3, 'hiddenSize': 4, 'bias': False}, N=1, L=5),
        rnn_case('GRU unbatched, h0', 'GRU', {'inputSize': 2, 'hiddenSize': 3, 'numLayers': 2}, N=1, L=3, unbatched=True),
        rnn_case('RNN relu 2 layers, bidirectional', 'RNN',
                 {'inputSize': 3, 'hiddenSize': 4, 'numLayers': 2, 'bidirectional': True, 'nonlinearity': 'relu'}, N=2, L=4),
        rnn_case('RNN tanh', 'RNN', {'inputSize': 3, 'hiddenSize': 4}, N=2, L=3),
        rnn_case('GRUCell', 'GRUCell', {'inputSize': 3, 'hiddenSize': 4}, N=2, L=1),
        rnn_case('LSTMCell', 'LSTMCell', {'inputSize': 3, 'hiddenSize': 4}, N=2, L=1),
        rnn_case('LSTMCell zero state', 'LSTMCell', {'inputSize': 3, 'hiddenSize': 4}, N=2, L=1, with_state=False),
        rnn_case('RNNCell tanh unbatched', 'RNNCell', {'inputSize': 3, 'hiddenSize': 4}, N=1, L=1, unbatched=True),
        rnn_case('RNNCell relu', 'RNNCell', {'inputSize': 3, 'hiddenSize': 4, 'nonlinearity': 'relu'}, N=2, L=1),
    ]


# ------------------------------------------------------------------ losses


def loss_case(name, fn, torch_fn, inputs, grads, opts=None, torch_opts=None):
    """inputs: list of tensors (float ones may need grad); opts: tessera options as stored (tensors encoded)."""
    xs = [x.clone().requires_grad_() if g else x.clone() for x, g in zip(inputs, grads)]
    out = torch_fn(*xs, **(torch_opts or {}))
    v = randn(*out.shape)
    gs = [None] * len(xs)
    if any(grads):
        (out * v).sum().backward()
        gs = [R(x.grad) if g else None for x, g in zip(xs, grads)]
    enc = {k: (T(val) if isinstance(val, torch.Tensor) else val) for k, val in (opts or {}).items()}
    return {'name': name, 'fn': fn, 'inputs': [T(x) for x in inputs], 'grad': grads, 'opts': enc,
            'output': R(out), 'v': T(v), 'grads': gs}


def loss_cases():
    cases = []
    REDS = ['mean', 'sum', 'none']
    N, C = 4, 5
    logits = randn(N, C, scale=2)
    tgt = long([1, 0, 4, 2])
    tgt_ign = long([1, -100, 4, 2])
    w = rand(C, lo=0.5, hi=2.0)
    probs = F.softmax(randn(N, C, scale=2), 1)
    probs = f32(probs, 4)
    ce = F.cross_entropy

    def add(name, fn, tf, inputs, grads, opts=None, topts=None):
        cases.append(loss_case(name, fn, tf, inputs, grads, opts, topts))

    for red in REDS:
        add(f'crossEntropy/idx/{red}', 'crossEntropy', ce, [logits, tgt], [True, False], {'reduction': red}, {'reduction': red})
        add(f'crossEntropy/idx weight ignore/{red}', 'crossEntropy', ce, [logits, tgt_ign], [True, False],
            {'reduction': red, 'weight': w}, {'reduction': red, 'weight': w})
        add(f'crossEntropy/idx weight ignore smoothing/{red}', 'crossEntropy', ce, [logits, tgt_ign], [True, False],
            {'reduction': red, 'weight': w, 'labelSmoothing': 0.2}, {'reduction': red, 'weight': w, 'label_smoothing': 0.2})
        add(f'crossEntropy/prob/{red}', 'crossEntropy', ce, [logits, probs], [True, True], {'reduction': red}, {'reduction': red})
        add(f'crossEntropy/prob weight smoothing/{red}', 'crossEntropy', ce, [logits, probs], [True, True],
            {'reduction': red, 'weight': w, 'labelSmoothing': 0.15}, {'reduction': red, 'weight': w, 'label_smoothing': 0.15})
    add('crossEntropy/idx smoothing', 'crossEntropy', ce, [logits, tgt_ign], [True, False], {'labelSmoothing': 0.1}, {'label_smoothing': 0.1})
    add('crossEntropy/idx ignoreIndex 2', 'crossEntropy', ce, [logits, long([2, 0, 4, 2])], [True, False],
        {'ignoreIndex': 2, 'weight': w}, {'ignore_index': 2, 'weight': w})
    sp = randn(2, 3, 2, 2)
    sp_t = long([[[0, 2], [-100, 1]], [[1, 1], [2, -100]]])
    w3 = rand(3, lo=0.5, hi=2.0)
    for red in REDS:
        add(f'crossEntropy/spatial weight ignore smoothing/{red}', 'crossEntropy', ce, [sp, sp_t], [True, False],
            {'reduction': red, 'weight': w3, 'labelSmoothing': 0.1}, {'reduction': red, 'weight': w3, 'label_smoothing': 0.1})
    sp_p = f32(F.softmax(randn(2, 3, 4), 1), 4)
    add('crossEntropy/prob spatial weight', 'crossEntropy', ce, [randn(2, 3, 4), sp_p], [True, True], {'weight': w3}, {'weight': w3})
    add('crossEntropy/unbatched', 'crossEntropy', ce, [randn(C), long(3)], [True, False], {'weight': w}, {'weight': w})
    add('crossEntropy/unbatched prob', 'crossEntropy', ce, [randn(C), probs[0]], [True, True], {'labelSmoothing': 0.3}, {'label_smoothing': 0.3})
    add('crossEntropy/all ignored', 'crossEntropy', ce, [logits, long([-100] * N)], [False, False], {}, {})

    logp = f32(F.log_softmax(logits, 1), 4)
    for red in REDS:
        add(f'nllLoss/weight ignore/{red}', 'nllLoss', F.nll_loss, [logp, tgt_ign], [True, False],
            {'reduction': red, 'weight': w}, {'reduction': red, 'weight': w})
    add('nllLoss/plain', 'nllLoss', F.nll_loss, [logp, tgt], [True, False])
    add('nllLoss/spatial', 'nllLoss', F.nll_loss, [f32(F.log_softmax(sp, 1), 4), sp_t], [True, False], {'weight': w3}, {'weight': w3})

    a, b = randn(3, 4), randn(3, 4)
    for red in REDS:
        add(f'mseLoss/{red}', 'mseLoss', F.mse_loss, [a, b], [True, True], {'reduction': red}, {'reduction': red})
        add(f'l1Loss/{red}', 'l1Loss', F.l1_loss, [a, b], [True, True], {'reduction': red}, {'reduction': red})
        add(f'huberLoss/delta 1/{red}', 'huberLoss', F.huber_loss, [a, b], [True, True], {'reduction': red}, {'reduction': red})
        add(f'smoothL1Loss/beta 1/{red}', 'smoothL1Loss', F.smooth_l1_loss, [a, b], [True, True], {'reduction': red}, {'reduction': red})
    add('huberLoss/delta 0.5', 'huberLoss', F.huber_loss, [a, b], [True, True], {'delta': 0.5}, {'delta': 0.5})
    add('smoothL1Loss/beta 0.5', 'smoothL1Loss', F.smooth_l1_loss, [a, b], [True, True], {'beta': 0.5}, {'beta': 0.5})
    add('smoothL1Loss/beta 0', 'smoothL1Loss', F.smooth_l1_loss, [a, b], [True, True], {'beta': 0.0}, {'beta': 0.0})

    p = f32(torch.sigmoid(randn(3, 4, scale=2)), 4)
    y = rand(3, 4)
    bw = rand(4, lo=0.5, hi=2.0)
    for red in REDS:
        add(f'binaryCrossEntropy/weight/{red}', 'binaryCrossEntropy', F.binary_cross_entropy, [p, y], [True, True],
            {'reduction': red, 'weight': bw}, {'reduction': red, 'weight': bw})
    add('binaryCrossEntropy/clamped log', 'binaryCrossEntropy', F.binary_cross_entropy,
        [torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0, 1.0, 0.25])], [False, False], {'reduction': 'none'}, {'reduction': 'none'})

    z = randn(3, 4, scale=3)
    z[0, 0], z[1, 1], z[2, 2] = 0.0, 30.0, -30.0
    pw = rand(4, lo=0.5, hi=3.0)
    for red in REDS:
        add(f'bceWithLogits/{red}', 'bceWithLogits', F.binary_cross_entropy_with_logits, [z, y], [True, True], {'reduction': red}, {'reduction': red})
        add(f'bceWithLogits/weight posWeight/{red}', 'bceWithLogits', F.binary_cross_entropy_with_logits, [z, y], [True, True],
            {'reduction': red, 'weight': bw, 'posWeight': pw}, {'reduction': red, 'weight': bw, 'pos_weight': pw})

    kin = f32(F.log_softmax(randn(3, 4), 1), 4)
    kt = f32(F.softmax(randn(3, 4), 1), 4)
    for red in REDS + ['batchmean']:
        add(f'klDiv/{red}', 'klDiv', F.kl_div, [kin, kt], [True, True], {'reduction': red}, {'reduction': red})
        add(f'klDiv/logTarget/{red}', 'klDiv', F.kl_div, [kin, f32(torch.log(kt), 4)], [True, True],
            {'reduction': red, 'logTarget': True}, {'reduction': red, 'log_target': True})
    kt0 = kt.clone()
    kt0[0, 1] = 0.0
    # NOTE: torch's gradient w.r.t. a zero target is NaN (xlogy backward); only the input's is compared.
    add('klDiv/zero target', 'klDiv', F.kl_div, [kin, kt0], [True, False], {'reduction': 'sum'}, {'reduction': 'sum'})

    cs = F.cosine_similarity
    add('cosineSimilarity/dim 1', 'cosineSimilarity', cs, [randn(4, 5), randn(4, 5)], [True, True], {'dim': 1}, {'dim': 1})
    add('cosineSimilarity/broadcast dim -1', 'cosineSimilarity', cs, [randn(2, 1, 4), randn(3, 4)], [True, True], {'dim': -1}, {'dim': -1})
    tiny = randn(3, 4)
    tiny[0] = torch.tensor([1e-9, -2e-9, 3e-9, 0.0])
    add('cosineSimilarity/norm below eps', 'cosineSimilarity', cs, [tiny, randn(3, 4)], [True, True], {'dim': 1}, {'dim': 1})

    x1, x2 = randn(4, 5), randn(4, 5)
    yy = torch.tensor([1.0, -1.0, 1.0, -1.0])
    for red in REDS:
        add(f'cosineEmbeddingLoss/margin 0.2/{red}', 'cosineEmbeddingLoss', F.cosine_embedding_loss, [x1, x2, yy], [True, True, False],
            {'reduction': red, 'margin': 0.2}, {'reduction': red, 'margin': 0.2})
    add('cosineEmbeddingLoss/margin -0.5', 'cosineEmbeddingLoss', F.cosine_embedding_loss, [x1, x2, yy], [True, True, False],
        {'margin': -0.5}, {'margin': -0.5})
    add('cosineEmbeddingLoss/unbatched', 'cosineEmbeddingLoss', F.cosine_embedding_loss, [x1[0], x2[0], torch.tensor(-1.0)],
        [True, True, False], {'reduction': 'sum'}, {'reduction': 'sum'})
    return cases


# ------------------------------------------------------------------ embedding, bilinear


def embedding_case():
    m = nn.Embedding(6, 3, padding_idx=1)
    with torch.no_grad():
        m.weight.copy_(randn(6, 3))  # a nonzero padding row: the lookup returns it, the gradient skips it
    ids = long([[1, 2, 1, 5], [0, 2, 3, 1]])
    out = m(ids)
    v = randn(*out.shape)
    (out * v).sum().backward()
    return {'num': 6, 'dim': 3, 'paddingIdx': 1, 'weight': T(m.weight), 'ids': T(ids), 'output': R(out), 'v': T(v), 'gradWeight': R(m.weight.grad)}


def bilinear_cases():
    out = []
    for lead in [(5,), (2, 3)]:
        m = nn.Bilinear(3, 4, 2)
        with torch.no_grad():
            m.weight.copy_(randn(2, 3, 4, scale=0.5))
            m.bias.copy_(randn(2))
        x1 = randn(*lead, 3).requires_grad_()
        x2 = randn(*lead, 4).requires_grad_()
        y = m(x1, x2)
        v = randn(*y.shape)
        (y * v).sum().backward()
        out.append({'weight': T(m.weight), 'bias': T(m.bias), 'x1': T(x1), 'x2': T(x2), 'output': R(y), 'v': T(v),
                    'grads': {'x1': R(x1.grad), 'x2': R(x2.grad), 'weight': R(m.weight.grad), 'bias': R(m.bias.grad)}})
    return out


# ------------------------------------------------------------------ init


def init_section():
    I = nn.init
    gains = [[n, p, I.calculate_gain(n, p)] for n, p in [
        ('linear', None), ('conv2d', None), ('sigmoid', None), ('tanh', None), ('relu', None),
        ('leaky_relu', None), ('leaky_relu', 0.2), ('leaky_relu', math.sqrt(5)), ('selu', None)]]
    shapes = [[20, 30], [64, 32, 3, 3], [16, 8, 5], [8, 4, 2, 3, 3]]
    fans = []
    for s in shapes:
        fi, fo = I._calculate_fan_in_and_fan_out(torch.empty(s))
        fans.append({'shape': s, 'fanIn': fi, 'fanOut': fo})
    kaiming = []
    for s, mode, nl, a in [([64, 32, 3, 3], 'fan_in', 'leaky_relu', 0.0), ([64, 32, 3, 3], 'fan_out', 'relu', 0.0),
                           ([200, 50], 'fan_in', 'leaky_relu', math.sqrt(5)), ([16, 8, 5], 'fan_out', 'tanh', 0.0)]:
        fan = I._calculate_correct_fan(torch.empty(s), mode)
        std = I.calculate_gain(nl, a) / math.sqrt(fan)
        # The bound as torch computes it, and the empirical max of one large draw (it must not exceed it).
        t = torch.empty(s)
        I.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nl)
        kaiming.append({'shape': s, 'mode': mode, 'nonlinearity': nl, 'a': a, 'std': std, 'bound': math.sqrt(3.0) * std,
                        'torchMaxAbs': float(t.abs().max())})
    xavier = []
    for s, gain in [([20, 30], 1.0), ([64, 32, 3, 3], 5 / 3)]:
        fi, fo = I._calculate_fan_in_and_fan_out(torch.empty(s))
        std = gain * math.sqrt(2.0 / (fi + fo))
        xavier.append({'shape': s, 'gain': gain, 'std': std, 'bound': math.sqrt(3.0) * std})
    trunc = []
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.5, 0.02, 0.46, 0.6), (1.0, 2.0, -1.0, 1.5)]:
        al, be = (a - mean) / std, (b - mean) / std
        pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))
        Z = cdf(be) - cdf(al)
        m = mean + std * (pdf(al) - pdf(be)) / Z
        var = std ** 2 * (1 + (al * pdf(al) - be * pdf(be)) / Z - ((pdf(al) - pdf(be)) / Z) ** 2)
        t = torch.empty(200000)
        I.trunc_normal_(t, mean=mean, std=std, a=a, b=b)
        trunc.append({'mean': mean, 'std': std, 'a': a, 'b': b, 'expectedMean': m, 'expectedStd': math.sqrt(var),
                      'torchMean': float(t.mean()), 'torchStd': float(t.std())})
    return {'gains': gains, 'fans': fans, 'kaiming': kaiming, 'xavier': xavier, 'truncNormal': trunc}


# ------------------------------------------------------------------ positional


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def rope_ref(x, pos, base, rot):
    """Hugging Face LLaMA: x * cos + rotate_half(x) * sin with emb = cat(freqs, freqs), on the first `rot` features."""
    inv = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    freqs = pos.double()[..., None] * inv
    emb = torch.cat([freqs, freqs], -1)
    xr, rest = x[..., :rot], x[..., rot:]
    return torch.cat([xr * emb.cos() + rotate_half(xr) * emb.sin(), rest], -1)


def positional_section():
    x = randn(2, 3, 5, 8)
    cases = []
    for label, positions, base, rot in [('offset 3', 3, 10000.0, 8), ('positions', long([0, 2, 5, 7, 11]), 10000.0, 8),
                                        ('batched positions, rotaryDim 4, base 500', long([[0, 1, 2, 3, 4], [9, 10, 11, 12, 13]]).reshape(2, 1, 5), 500.0, 4)]:
        pos = torch.arange(positions, positions + 5) if isinstance(positions, int) else positions
        cases.append({'label': label, 'x': T(x), 'positions': positions if isinstance(positions, int) else T(positions),
                      'base': base, 'rotaryDim': rot, 'output': R(rope_ref(x, pos, base, rot))})
    tables = []
    for L, D, start in [(6, 8, 0), (5, 7, 3)]:
        # The PyTorch tutorial's PositionalEncoding (odd D keeps the first D // 2 cos columns).
        position = torch.arange(start, start + L, dtype=torch.float64).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, D, 2, dtype=torch.float64) * (-math.log(10000.0) / D))
        pe = torch.zeros(L, D)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)[:, :D // 2]
        tables.append({'L': L, 'D': D, 'start': start, 'table': R(pe)})
    return {'rope': cases, 'sinusoidal': tables}


def main():
    data = {
        'generator': f'/usr/bin/python3 scripts/gen_nn_fixtures.py (torch {torch.__version__}, numpy {np.__version__}, python {platform.python_version()})',
        'note': 'Inputs are float32-exact numbers; outputs and gradients are float64 references of sum_k (out_k * v_k).sum(). '
                'Index tensors are int32 in tessera (torch: int64). NaN is "nan".',
        'rnn': rnn_cases(),
        'losses': loss_cases(),
        'embedding': embedding_case(),
        'bilinear': bilinear_cases(),
        'init': init_section(),
        **positional_section(),
    }
    with open(OUT, 'w') as f:
        json.dump(data, f, separators=(',', ':'))
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)', file=sys.stderr)


if __name__ == '__main__':
    main()
