#!/usr/bin/env python3
"""
@file Writes test/fixtures/ops.json: PyTorch reference values for test/ops/reference.test.ts.

Run:  /usr/bin/python3 scripts/gen_fixtures.py        (or: npm run fixtures)

Deterministic: all random data comes from one seeded torch.Generator, and float data is rounded to
a few decimals and then to float32, so every float input is exactly representable in float32 and
prints short in the JSON.

For each case the op is run three times:
  1. "actual": inputs in their declared dtypes (float32, int32, int8, bool; index tensors as int64,
     which tessera declares as int32). Gives the output shapes and dtypes, and the values of
     non-float outputs (ints, bools, indices).
  2. "reference": float inputs upcast to float64 and torch's default dtype set to float64. Gives
     the values of float outputs and the gradient of sum_k (out_k * v_k).sum() with respect to every
     float input that has `grad`, for fixed cotangents v_k.
  3. "promotion probe": float inputs as float64 with the default dtype float32. When every float32
     output becomes float64 (and no int/bool output changes), the case is marked `f64: true` and the
     test also runs it with float64 inputs, expecting float64 outputs within float64 tolerances.

Where tessera deliberately differs from torch the case says so in `note`: an overridden expected
value (sign(NaN)), or gradient entries set to null, which the test does not compare (derivatives
at NaN inputs, where each library picks a branch by convention).

Output dtypes are tessera's: torch int64 (indices, integer sums) maps to int32.
JSON numbers: NaN / Infinity / -Infinity are the strings "nan", "inf", "-inf"; bools are true/false.
"""
import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings('ignore')
torch.set_default_dtype(torch.float32)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'ops.json')
GEN = torch.Generator().manual_seed(20240611)

NAN = float('nan')
INF = float('inf')

# ------------------------------------------------------------------ data


def f32(data, digits=None):
    """A float64 tensor whose values are float32 numbers (rounded to `digits` decimals first)."""
    x = torch.as_tensor(data, dtype=torch.float64)
    if digits is not None:
        x = torch.round(x, decimals=digits)
    return x.float().double()


def randn(*shape, scale=1.0, digits=3):
    return f32(torch.randn(shape, generator=GEN, dtype=torch.float64) * scale, digits)


def rand(*shape, lo=0.0, hi=1.0, digits=3):
    return f32(torch.rand(shape, generator=GEN, dtype=torch.float64) * (hi - lo) + lo, digits)


def signs(*shape):
    """Random +1 / -1."""
    return torch.where(torch.rand(shape, generator=GEN) < 0.5, -1.0, 1.0).double()


class In:
    """One op input: values (float64 for float dtypes), tessera dtype, whether it gets a gradient."""

    def __init__(self, t, dtype, grad=False, index=False):
        self.t = t
        self.dtype = dtype
        self.grad = grad
        self.index = index

    def torch(self, ref):
        """The tensor to feed torch: float64 in the reference run, else the declared dtype."""
        if self.index:
            return self.t.to(torch.int64)
        if self.dtype in ('float32', 'float64'):
            return self.t.to(torch.float64 if ref else getattr(torch, self.dtype))
        return self.t.to(getattr(torch, self.dtype))


def X(data, grad=True, digits=None):
    """A float32 input (differentiable by default)."""
    return In(f32(data, digits), 'float32', grad)


def X64(data, grad=True):
    return In(f32(data), 'float64', grad)


def I32(data):
    return In(torch.as_tensor(data, dtype=torch.int32), 'int32')


def I8(data):
    return In(torch.as_tensor(data, dtype=torch.int8), 'int8')


def B(data):
    return In(torch.as_tensor(data, dtype=torch.bool), 'bool')


def IDX(data):
    """An index tensor: int64 for torch, int32 for tessera."""
    return In(torch.as_tensor(data, dtype=torch.int64), 'int32', index=True)


# ------------------------------------------------------------------ encoding


def enc_num(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return v


def enc_input_float(v):
    """Shortest decimal that gives back the same float32 (checked along JavaScript's path: decimal -> double -> float32)."""
    if math.isnan(v) or math.isinf(v):
        return enc_num(v)
    s = repr(np.float32(v))
    d = float(s)
    assert np.float32(d) == np.float32(v) and float(np.float32(v)) == v, (v, s)
    return d


def enc_args(a):
    if isinstance(a, dict):
        return {k: enc_args(v) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return [enc_args(v) for v in a]
    if isinstance(a, float):
        return enc_num(a)
    return a


def flat(t):
    return t.detach().reshape(-1).tolist()


def enc_tensor(t, dtype, is_input=False):
    vals = flat(t)
    if dtype == 'bool':
        data = [bool(v) for v in vals]
    elif dtype in ('float32', 'float64'):
        data = [enc_input_float(float(v)) if is_input else enc_num(float(v)) for v in vals]
    else:
        data = [int(v) for v in vals]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


TESSERA_DTYPE = {
    torch.float32: 'float32', torch.float64: 'float64', torch.int32: 'int32', torch.int64: 'int32',
    torch.int8: 'int8', torch.bool: 'bool', torch.uint8: 'bool',
}

# ------------------------------------------------------------------ ops (same names as the test's table)


def all_dims(x):
    return tuple(range(x.dim()))


def dims_of(x, a):
    d = a.get('dims')
    if d is None:
        return all_dims(x)
    return (d,) if isinstance(d, int) else tuple(d)


def reduce_with(fn_one):
    """A reduction over several dims built from a one-dim torch reduction (prod, all, any)."""
    def f(xs, a):
        x = xs[0]
        keep = a.get('keepdim', False)
        dims = sorted({d % max(x.dim(), 1) for d in dims_of(x, a)}, reverse=True)
        if x.dim() == 0:
            return fn_one(x, 0, False)
        for d in dims:
            x = fn_one(x, d, True)
        if not keep:
            for d in dims:
                x = x.squeeze(d)
        return x
    return f


def multi(fn):
    """torch reductions that take a dim tuple (sum, mean, amax, logsumexp, var...)."""
    def f(xs, a):
        x = xs[0]
        return fn(x, dims_of(x, a), a.get('keepdim', False), a)
    return f


def binary(tfn):
    """A binary op: (a, b) tensors, or one tensor and args.scalar (on the left when args.scalarLeft)."""
    def f(xs, a):
        if 'scalar' in a:
            s = a['scalar']
            return tfn(s, xs[0], a) if a.get('scalarLeft') else tfn(xs[0], s, a)
        return tfn(xs[0], xs[1], a)
    return f


def torch_slice(x, dim, start, end, step):
    idx = [slice(None)] * x.dim()
    idx[dim] = slice(start, end, step)
    return x[tuple(idx)]


def torch_div(p, q, a):
    mode = a.get('roundingMode')
    if mode is None:
        return torch.true_divide(p, q) if isinstance(p, torch.Tensor) else p / q
    if not isinstance(p, torch.Tensor):
        p = torch.tensor(p, dtype=q.dtype)
    return torch.div(p, q, rounding_mode=mode)


def scal_or(fn):
    """fn(p, q) where a python number on either side is allowed (torch's operators handle it)."""
    return binary(lambda p, q, a: fn(p, q))


OPS = {
    # unary
    'neg': lambda xs, a: torch.neg(xs[0]),
    'exp': lambda xs, a: torch.exp(xs[0]),
    'log': lambda xs, a: torch.log(xs[0]),
    'log1p': lambda xs, a: torch.log1p(xs[0]),
    'expm1': lambda xs, a: torch.expm1(xs[0]),
    'sqrt': lambda xs, a: torch.sqrt(xs[0]),
    'rsqrt': lambda xs, a: torch.rsqrt(xs[0]),
    'reciprocal': lambda xs, a: torch.reciprocal(xs[0]),
    'square': lambda xs, a: torch.square(xs[0]),
    'abs': lambda xs, a: torch.abs(xs[0]),
    'sign': lambda xs, a: torch.sign(xs[0]),
    'sin': lambda xs, a: torch.sin(xs[0]),
    'cos': lambda xs, a: torch.cos(xs[0]),
    'tanh': lambda xs, a: torch.tanh(xs[0]),
    'sigmoid': lambda xs, a: torch.sigmoid(xs[0]),
    'erf': lambda xs, a: torch.erf(xs[0]),
    'relu': lambda xs, a: torch.relu(xs[0]),
    'silu': lambda xs, a: F.silu(xs[0]),
    'leakyRelu': lambda xs, a: F.leaky_relu(xs[0], a.get('slope', 0.01)),
    'elu': lambda xs, a: F.elu(xs[0], a.get('alpha', 1.0)),
    'gelu': lambda xs, a: F.gelu(xs[0], approximate=a.get('approximate', 'none')),
    'softplus': lambda xs, a: F.softplus(xs[0], a.get('beta', 1), a.get('threshold', 20)),
    'clamp': lambda xs, a: torch.clamp(xs[0], a.get('min'), a.get('max')),
    'powScalar': lambda xs, a: torch.pow(xs[0], a['exponent']),
    'isnan': lambda xs, a: torch.isnan(xs[0]),
    'logicalNot': lambda xs, a: torch.logical_not(xs[0]),
    'cast': lambda xs, a: xs[0].to(getattr(torch, a['dtype'])),
    # binary
    'add': binary(lambda p, q, a: torch.add(p, q, alpha=a['alpha']) if 'alpha' in a else p + q),
    'sub': binary(lambda p, q, a: torch.sub(p, q, alpha=a['alpha']) if 'alpha' in a else p - q),
    'mul': scal_or(lambda p, q: p * q),
    'div': binary(torch_div),
    'pow': scal_or(lambda p, q: torch.pow(p, q)),
    'maximum': lambda xs, a: torch.maximum(xs[0], xs[1]),
    'minimum': lambda xs, a: torch.minimum(xs[0], xs[1]),
    'eq': scal_or(lambda p, q: torch.eq(p, q)),
    'ne': scal_or(lambda p, q: torch.ne(p, q)),
    'lt': scal_or(lambda p, q: torch.lt(p, q)),
    'le': scal_or(lambda p, q: torch.le(p, q)),
    'gt': scal_or(lambda p, q: torch.gt(p, q)),
    'ge': scal_or(lambda p, q: torch.ge(p, q)),
    'logicalAnd': lambda xs, a: torch.logical_and(xs[0], xs[1]),
    'logicalOr': lambda xs, a: torch.logical_or(xs[0], xs[1]),
    'logicalXor': lambda xs, a: torch.logical_xor(xs[0], xs[1]),
    'where': lambda xs, a: torch.where(xs[0], a['a'] if 'a' in a else xs[1], a['b'] if 'b' in a else xs[-1]),
    'maskedFill': lambda xs, a: xs[0].masked_fill(xs[1], a['value']),
    # reductions
    'sum': multi(lambda x, d, k, a: torch.sum(x, dim=d, keepdim=k)),
    'mean': multi(lambda x, d, k, a: torch.mean(x, dim=d, keepdim=k)),
    'prod': reduce_with(lambda x, d, k: torch.prod(x, d, keepdim=k)),
    'amax': multi(lambda x, d, k, a: torch.amax(x, dim=d, keepdim=k)),
    'amin': multi(lambda x, d, k, a: torch.amin(x, dim=d, keepdim=k)),
    'logsumexp': multi(lambda x, d, k, a: torch.logsumexp(x, dim=d, keepdim=k)),
    'var': multi(lambda x, d, k, a: torch.var(x, dim=d, correction=a.get('correction', 1), keepdim=k)),
    'std': multi(lambda x, d, k, a: torch.std(x, dim=d, correction=a.get('correction', 1), keepdim=k)),
    'norm': multi(lambda x, d, k, a: torch.linalg.vector_norm(x, ord=a['p'], dim=d, keepdim=k)),
    'max': lambda xs, a: torch.max(xs[0]),
    'min': lambda xs, a: torch.min(xs[0]),
    'maxDim': lambda xs, a: list(torch.max(xs[0], a['dim'], keepdim=a.get('keepdim', False))),
    'minDim': lambda xs, a: list(torch.min(xs[0], a['dim'], keepdim=a.get('keepdim', False))),
    'argmax': lambda xs, a: torch.argmax(xs[0], a.get('dim'), keepdim=a.get('keepdim', False)),
    'argmin': lambda xs, a: torch.argmin(xs[0], a.get('dim'), keepdim=a.get('keepdim', False)),
    'cumsum': lambda xs, a: torch.cumsum(xs[0], a['dim']),
    'all': reduce_with(lambda x, d, k: torch.all(x, d, keepdim=k) if x.dim() > 0 else torch.all(x)),
    'any': reduce_with(lambda x, d, k: torch.any(x, d, keepdim=k) if x.dim() > 0 else torch.any(x)),
    # in place (on a copy, as the test's inputs are fresh tensors)
    'add_': binary(lambda p, q, a: p.clone().add_(q, alpha=a.get('alpha', 1))),
    'sub_': binary(lambda p, q, a: p.clone().sub_(q, alpha=a.get('alpha', 1))),
    'mul_': binary(lambda p, q, a: p.clone().mul_(q)),
    'div_': binary(lambda p, q, a: p.clone().div_(q)),
    'pow_': binary(lambda p, q, a: p.clone().pow_(q)),
    'clamp_': lambda xs, a: xs[0].clone().clamp_(a.get('min'), a.get('max')),
    'fill_': lambda xs, a: xs[0].clone().fill_(a['value']),
    'zero_': lambda xs, a: xs[0].clone().zero_(),
    'maskedFill_': lambda xs, a: xs[0].clone().masked_fill_(xs[1], a['value']),
    'copy_': lambda xs, a: xs[0].clone().copy_(xs[1]),
    # linear algebra, softmax
    'matmul': lambda xs, a: torch.matmul(xs[0], xs[1]),
    'linear': lambda xs, a: F.linear(xs[0], xs[1], xs[2] if len(xs) > 2 else None),
    'softmax': lambda xs, a: torch.softmax(xs[0], a['dim']),
    'logSoftmax': lambda xs, a: torch.log_softmax(xs[0], a['dim']),
    # assembly and indexing
    'cat': lambda xs, a: torch.cat(xs, a.get('dim', 0)),
    'stack': lambda xs, a: torch.stack(xs, a.get('dim', 0)),
    'split': lambda xs, a: list(torch.split(xs[0], a['size'], a.get('dim', 0))),
    'chunk': lambda xs, a: list(torch.chunk(xs[0], a['chunks'], a.get('dim', 0))),
    'gather': lambda xs, a: torch.gather(xs[0], a['dim'], xs[1]),
    'scatter': lambda xs, a: torch.scatter(xs[0], a['dim'], xs[1], a['value'] if 'value' in a else xs[2]),
    'scatterAdd': lambda xs, a: torch.scatter_add(xs[0], a['dim'], xs[1], xs[2]),
    'indexSelect': lambda xs, a: torch.index_select(xs[0], a['dim'], xs[1]),
    'indexAdd': lambda xs, a: torch.index_add(xs[0], a['dim'], xs[1], xs[2]),
    'pad': lambda xs, a: F.pad(xs[0], a['pads'], value=a.get('value', 0.0)),
    'repeat': lambda xs, a: xs[0].repeat(*a['repeats']),
    'tril': lambda xs, a: torch.tril(xs[0], a.get('diagonal', 0)),
    'triu': lambda xs, a: torch.triu(xs[0], a.get('diagonal', 0)),
    'flip': lambda xs, a: torch.flip(xs[0], [a['dims']] if isinstance(a['dims'], int) else a['dims']),
    'roll': lambda xs, a: torch.roll(xs[0], a['shifts'], a.get('dims')),
    'narrow': lambda xs, a: torch.narrow(xs[0], a['dim'], a['start'], a['length']),
    'slice': lambda xs, a: torch_slice(xs[0], a['dim'], a.get('start'), a.get('end'), a.get('step', 1)),
    'select': lambda xs, a: torch.select(xs[0], a['dim'], a['index']),
    'permute': lambda xs, a: xs[0].permute(*a['dims']),
    'transpose': lambda xs, a: xs[0].transpose(a['dim0'], a['dim1']),
    'T': lambda xs, a: xs[0].permute(*reversed(range(xs[0].dim()))),
    'mT': lambda xs, a: xs[0].transpose(-2, -1),
    'expand': lambda xs, a: xs[0].expand(*a['shape']),
    'reshape': lambda xs, a: xs[0].reshape(tuple(a['shape'])),
    'squeeze': lambda xs, a: xs[0].squeeze() if a.get('dim') is None else xs[0].squeeze(a['dim']),
    'unsqueeze': lambda xs, a: xs[0].unsqueeze(a['dim']),
    'flatten': lambda xs, a: torch.flatten(xs[0], a.get('startDim', 0), a.get('endDim', -1)),
    'unflatten': lambda xs, a: xs[0].unflatten(a['dim'], a['sizes']),
    'clone': lambda xs, a: xs[0].clone(),
    'contiguous': lambda xs, a: xs[0].contiguous(),
}

# ------------------------------------------------------------------ running a case

CASES = []
NAMES = set()


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def run(op, inputs, args, ref):
    xs = [i.torch(ref) for i in inputs]
    if ref:
        for x, i in zip(xs, inputs):
            if i.grad:
                x.requires_grad_(True)
    return xs, as_list(OPS[op](xs, args))


def case(family, op, inputs, args=None, name=None, tol='kernel', grad=True, note=None):
    """Runs `op` on `inputs` in torch and records the reference case."""
    args = dict(args or {})
    name = f'{family}/{op}' + (f'/{name}' if name else '')
    assert name not in NAMES, name
    NAMES.add(name)
    if not grad:
        for i in inputs:
            i.grad = False

    # 1. actual dtypes
    with torch.no_grad():
        _, actual = run(op, inputs, args, ref=False)
    # 2. float64 reference with gradients
    torch.set_default_dtype(torch.float64)
    try:
        xs, ref = run(op, inputs, args, ref=True)
    finally:
        torch.set_default_dtype(torch.float32)
    # 3. promotion probe: do float64 inputs give float64 where float32 inputs gave float32?
    with torch.no_grad():
        xs64 = [i.t.to(torch.float64) if i.dtype == 'float32' else i.torch(False) for i in inputs]
        probe = as_list(OPS[op](xs64, args))
    has_f32_input = any(i.dtype == 'float32' for i in inputs)
    # Non-float outputs must not change either (x == 0.1 is true for float32 x = 0.1, false in float64).
    f64 = has_f32_input and all(
        (p.dtype == torch.float64) if a.dtype == torch.float32
        else (TESSERA_DTYPE[p.dtype] == TESSERA_DTYPE[a.dtype] and torch.equal(p, a))
        for a, p in zip(actual, probe))

    outputs, vs = [], []
    loss = None
    for a, r in zip(actual, ref):
        dtype = TESSERA_DTYPE[a.dtype]
        assert list(a.shape) == list(r.shape), (name, a.shape, r.shape)
        if a.dtype.is_floating_point:
            outputs.append(enc_tensor(r, dtype))
            v = randn(*r.shape, digits=2)
            vs.append(enc_tensor(v, 'float32', is_input=True)['data'])
            if r.requires_grad:
                term = (r * v).sum()
                loss = term if loss is None else loss + term
        else:
            outputs.append(enc_tensor(a, dtype))
            vs.append(None)

    grads = [None] * len(inputs)
    if loss is not None:
        loss.backward()
        for k, (x, i) in enumerate(zip(xs, inputs)):
            if i.grad:
                g = x.grad if x.grad is not None else torch.zeros_like(x)
                grads[k] = enc_tensor(g, 'float64')['data']
    c = {
        'name': name, 'family': family, 'op': op, 'args': enc_args(args), 'tol': tol,
        'inputs': [dict(enc_tensor(i.t, i.dtype, is_input=True), **({'grad': True} if i.grad else {}), **({'index': True} if i.index else {}))
                   for i in inputs],
        'outputs': outputs,
    }
    if any(g is not None for g in grads):
        c['v'] = vs
        c['grads'] = grads
    c['f64'] = f64
    if note:
        c['note'] = note
    CASES.append(c)
    return c


def override(c, output, fn, why):
    """Replaces expected values of one output where tessera documents a deliberate difference."""
    c['outputs'][output]['data'] = [fn(k, v) for k, v in enumerate(c['outputs'][output]['data'])]
    add_note(c, why)


def add_note(c, why):
    c['note'] = f"{c['note']}; {why}" if 'note' in c else why


def skip_grad_at_nan(c, why):
    """Leaves gradient entries at NaN inputs unchecked (null): a derivative at NaN is a convention, not a value."""
    for k, spec in enumerate(c['inputs']):
        if c['grads'][k] is not None:
            c['grads'][k] = [None if spec['data'][j] == 'nan' else g for j, g in enumerate(c['grads'][k])]
    add_note(c, why)


# ------------------------------------------------------------------ cases

SPECIAL = [NAN, INF, -INF, 0.0, -0.0, 1.5, -2.25]


def unary_cases():
    fam = 'unary'
    domain = {
        'log': lambda *s: rand(*s, lo=0.05, hi=4.0),
        'sqrt': lambda *s: rand(*s, lo=0.05, hi=4.0),
        'rsqrt': lambda *s: rand(*s, lo=0.05, hi=4.0),
        'log1p': lambda *s: rand(*s, lo=-0.9, hi=3.0),
        'reciprocal': lambda *s: signs(*s) * rand(*s, lo=0.2, hi=3.0),
        'exp': lambda *s: randn(*s, scale=2.0),
    }
    plain = ['neg', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'square', 'abs', 'sign',
             'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'relu', 'silu']
    for op in plain:
        gen = domain.get(op, lambda *s: randn(*s, scale=2.0))
        case(fam, op, [X(gen(2, 3))], name='2x3')
        case(fam, op, [X(gen(2, 1, 4))], name='2x1x4')
        case(fam, op, [X(gen())], name='0d')
        case(fam, op, [X(torch.zeros(0, 3))], name='empty')
        c = case(fam, op, [X(SPECIAL)], name='special')
        if op == 'sign':
            override(c, 0, lambda k, v: 'nan' if k == 0 else v,
                     'tessera: sign(NaN) = NaN, as NumPy; torch 1.13 returns 0 (pytorch/pytorch#41245)')
        if op == 'abs':
            skip_grad_at_nan(c, 'grad at NaN unchecked: tessera takes sign(NaN) = NaN, torch sgn(NaN) = 0')
        if op == 'relu':
            skip_grad_at_nan(c, 'grad at NaN unchecked: tessera masks with x > 0 (NaN gets 0), torch with x <= 0 (NaN gets g)')
    # int inputs: float ops compute in float32, abs/sign/relu/neg keep the dtype
    case(fam, 'exp', [I32([[-2, 0, 3]])], name='int32')
    case(fam, 'sqrt', [I8([0, 4, 9, 2])], name='int8')
    case(fam, 'sigmoid', [I32([-3, 0, 3])], name='int32')
    case(fam, 'abs', [I8([-128, -5, 0, 7, 127])], name='int8-wrap')
    case(fam, 'neg', [I32([-3, 0, 5])], name='int32')
    case(fam, 'sign', [I32([-3, 0, 5])], name='int32')
    case(fam, 'relu', [I8([-3, 0, 5])], name='int8')
    # large arguments: no overflow in the stable formulas
    case(fam, 'sigmoid', [X([-100.0, -30.0, -1e-3, 0.0, 30.0, 100.0])], name='large')
    case(fam, 'tanh', [X([-50.0, -1e-4, 1e-4, 50.0])], name='large')
    case(fam, 'exp', [X([-120.0, -80.0, 80.0, 100.0])], name='overflow')
    case(fam, 'expm1', [X([-1e-5, 1e-6, 1e-3, -40.0])], name='small')
    case(fam, 'log1p', [X([-1e-6, 1e-7, 1e-3, -1.0])], name='small')
    case(fam, 'erf', [X([-7.0, -3.5, -2.9, -0.5, 1e-4, 2.5, 3.2, 6.5])], name='range')

    # parametrised activations
    x = randn(3, 4, scale=2.0)
    case(fam, 'leakyRelu', [X(x)], name='default')
    case(fam, 'leakyRelu', [X(x)], {'slope': 0.2}, name='slope0.2')
    case(fam, 'leakyRelu', [X(SPECIAL)], {'slope': 0.1}, name='special')
    case(fam, 'elu', [X(x)], name='default')
    case(fam, 'elu', [X(x)], {'alpha': 0.5}, name='alpha0.5')
    skip_grad_at_nan(case(fam, 'elu', [X(SPECIAL)], name='special'),
                     'grad at NaN unchecked: tessera takes the x <= 0 branch (NaN), torch the x > 0 branch (g)')
    case(fam, 'gelu', [X(x)], {'approximate': 'none'}, name='exact')
    case(fam, 'gelu', [X(x)], {'approximate': 'tanh'}, name='tanh')
    case(fam, 'gelu', [X(SPECIAL)], {'approximate': 'none'}, name='exact-special')
    case(fam, 'gelu', [X(SPECIAL)], {'approximate': 'tanh'}, name='tanh-special')
    case(fam, 'gelu', [X(randn(0, 2))], {'approximate': 'tanh'}, name='empty')
    case(fam, 'softplus', [X(x)], name='default')
    case(fam, 'softplus', [X([-30.0, -2.0, 0.0, 2.4, 2.5, 2.6, 4.0, 30.0])], {'beta': 2.0, 'threshold': 5.0}, name='beta2-threshold5')
    case(fam, 'softplus', [X(x)], {'beta': 0.5, 'threshold': 1.0}, name='beta0.5-threshold1')
    case(fam, 'softplus', [X([-100.0, 10.0, 19.9, 20.5, 100.0])], name='threshold-default')
    case(fam, 'softplus', [X(SPECIAL)], name='special')
    case(fam, 'clamp', [X(x)], {'min': -0.5, 'max': 1.25}, name='min-max')
    case(fam, 'clamp', [X(x)], {'min': -0.5}, name='min')
    case(fam, 'clamp', [X(x)], {'max': 0.75}, name='max')
    case(fam, 'clamp', [X([-1.0, -0.5, 0.0, 1.25, 2.0])], {'min': -0.5, 'max': 1.25}, name='at-bounds')
    case(fam, 'clamp', [X([-1.0, 0.0, 2.0])], {'min': 1.0, 'max': 0.5}, name='min-above-max')
    case(fam, 'clamp', [X(SPECIAL)], {'min': -1.0, 'max': 1.0}, name='special')
    case(fam, 'clamp', [I32([-5, 0, 3, 9])], {'min': -2, 'max': 4}, name='int32')
    case(fam, 'clamp', [I32([-5, 0, 3, 9])], {'min': 0.5}, name='int32-fractional-bound')
    case(fam, 'clamp', [X(randn())], {'min': 0.0, 'max': 0.25}, name='0d')
    for e in [2, 3, 0.5, -1, 0, -2.5, 1]:
        data = rand(2, 3, lo=0.1, hi=3.0) if e in (0.5, -2.5) else randn(2, 3)
        case(fam, 'powScalar', [X(data)], {'exponent': e}, name=f'exp{e}')
    case(fam, 'powScalar', [X([-2.0, -1.0, 0.0, 1.5])], {'exponent': 2}, name='negative-base')
    case(fam, 'powScalar', [X([-2.0, 0.0, 4.0])], {'exponent': 0.5}, name='negative-base-fractional', grad=False)
    case(fam, 'powScalar', [X([0.0, 2.0])], {'exponent': -1}, name='zero-negative-exp')
    case(fam, 'powScalar', [X(SPECIAL)], {'exponent': 3}, name='special')
    case(fam, 'powScalar', [I32([-3, 0, 2, 5])], {'exponent': 3}, name='int32')
    case(fam, 'powScalar', [I32([1, 2, 4])], {'exponent': 0.5}, name='int32-fractional')
    # bool-valued unary ops
    case(fam, 'isnan', [X(SPECIAL, grad=False)], name='special')
    case(fam, 'logicalNot', [B([True, False, True])], name='bool')
    case(fam, 'logicalNot', [X(SPECIAL, grad=False)], name='float-special')
    case(fam, 'logicalNot', [I32([[0, 3], [-1, 0]])], name='int32')


def cast_cases():
    fam = 'cast'
    case(fam, 'cast', [X([[1.5, -2.25], [0.0, 3.0]])], {'dtype': 'float64'}, name='f32-f64', tol='exact')
    case(fam, 'cast', [X64([[1.5, -2.25], [0.0, 3.0]])], {'dtype': 'float32'}, name='f64-f32', tol='exact')
    case(fam, 'cast', [X([-2.75, -1.5, -0.5, 0.0, 0.5, 1.5, 2.99], grad=False)], {'dtype': 'int32'}, name='f32-int32-trunc', tol='exact')
    case(fam, 'cast', [X([-0.5, 0.0, 2.0, NAN, INF], grad=False)], {'dtype': 'bool'}, name='f32-bool', tol='exact')
    case(fam, 'cast', [I32([-3, 0, 7])], {'dtype': 'float32'}, name='int32-f32', tol='exact')
    case(fam, 'cast', [I32([-3, 0, 200])], {'dtype': 'int8'}, name='int32-int8-wrap', tol='exact')
    case(fam, 'cast', [B([True, False])], {'dtype': 'float32'}, name='bool-f32', tol='exact')


def binary_cases():
    fam = 'binary'
    pos = lambda *s: rand(*s, lo=0.2, hi=3.0)
    for op in ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']:
        g = pos if op == 'pow' else (lambda *s: randn(*s, scale=2.0))
        gb = (lambda *s: randn(*s, scale=1.5)) if op == 'pow' else (lambda *s: signs(*s) * rand(*s, lo=0.3, hi=2.0) if op == 'div' else randn(*s, scale=2.0))
        case(fam, op, [X(g(2, 3)), X(gb(2, 3))], name='same-shape')
        case(fam, op, [X(g(2, 1, 3)), X(gb(4, 1))], name='broadcast-2x1x3-4x1')
        case(fam, op, [X(g(3)), X(gb(2, 3))], name='broadcast-3-2x3')
        case(fam, op, [X(g()), X(gb(2, 3))], name='0d-left')
        case(fam, op, [X(g(2, 3)), X(gb())], name='0d-right')
        case(fam, op, [X(g(0, 3)), X(gb(1, 3))], name='empty-broadcast')
        case(fam, op, [X(g(1, 1)), X(gb(1))], name='size1')
    for op in ['add', 'sub', 'mul', 'div', 'pow']:
        base = rand(2, 3, lo=0.2, hi=3.0) if op == 'pow' else randn(2, 3, scale=2.0)
        case(fam, op, [X(base)], {'scalar': 2.5}, name='scalar-right')
        case(fam, op, [X(base)], {'scalar': -1.5 if op != 'pow' else 1.5, 'scalarLeft': True}, name='scalar-left')
    case(fam, 'add', [X(randn(2, 3)), X(randn(3))], {'alpha': 2.5}, name='alpha')
    case(fam, 'sub', [X(randn(2, 3)), X(randn(2, 1))], {'alpha': -0.5}, name='alpha')
    # special values
    a = [NAN, INF, -INF, INF, 0.0, 0.0, -0.0, 1.5, -2.0]
    b = [1.0, INF, INF, -INF, 0.0, -0.0, 2.0, NAN, INF]
    for op in ['add', 'sub', 'mul', 'div', 'maximum', 'minimum']:
        c = case(fam, op, [X(a), X(b)], name='special')
        if op in ('maximum', 'minimum'):
            # a NaN in either operand: tessera gives both operands 0, torch gives both the full g
            c['grads'] = [[None if a[j] != a[j] or b[j] != b[j] else g for j, g in enumerate(gs)] for gs in c['grads']]
            add_note(c, 'grads where an operand is NaN unchecked: tessera gives both 0, torch gives both g')
    # pow edge cases: 0^0, 0^-1, negative bases with integer exponents, NaN
    case(fam, 'pow', [X([0.0, 0.0, 0.0, -2.0, -2.0, -8.0, 2.0, NAN, 1.0, 1.0, -1.0, -1.0, 0.5, 2.0, -INF]),
                      X([0.0, 2.0, -1.0, 3.0, 2.0, 0.5, NAN, 0.0, NAN, INF, INF, -INF, -INF, -INF, 3.0])],
         name='special', grad=False)
    case(fam, 'pow', [X([0.0, 0.0, 0.0, -2.0, -1.5]), X([0.0, 2.0, 3.0, 2.0, 3.0])], name='zero-and-negative-base')
    # ties: the gradient is split evenly
    case(fam, 'maximum', [X([1.0, 2.0, 3.0, -1.0]), X([1.0, 0.5, 3.0, 4.0])], name='ties')
    case(fam, 'minimum', [X([1.0, 2.0, 3.0, -1.0]), X([1.0, 0.5, 3.0, 4.0])], name='ties')
    case(fam, 'maximum', [X([[1.0, 2.0, 3.0]]), X([[2.0], [1.0]])], name='ties-broadcast')
    # rounding division (no gradient in tessera or torch)
    ia = [7, -7, 7, -7, 0, 9, -9, 1]
    ib = [2, 2, -2, -2, 3, 4, 4, -5]
    for mode in ['trunc', 'floor']:
        case(fam, 'div', [I32(ia), I32(ib)], {'roundingMode': mode}, name=f'int32-{mode}', tol='exact')
        case(fam, 'div', [I32([[7, -7], [8, -9]]), I32([3, -2])], {'roundingMode': mode}, name=f'int32-{mode}-broadcast', tol='exact')
        case(fam, 'div', [I8([100, -100, -128, 127]), I8([3, 3, 3, -2])], {'roundingMode': mode}, name=f'int8-{mode}', tol='exact')
        case(fam, 'div', [I32(ia)], {'roundingMode': mode, 'scalar': 3}, name=f'int32-{mode}-scalar', tol='exact')
        case(fam, 'div', [X([7.5, -7.5, 7.0, -0.5, 5.0]), X([2.0, 2.0, -2.0, 3.0, 2.5])], {'roundingMode': mode},
             name=f'float32-{mode}', grad=False)
    case(fam, 'div', [I32(ia), I32(ib)], name='int32-true-division')
    # type promotion
    case(fam, 'add', [I32([[1, -2, 3]]), X([[0.5], [-1.25]])], name='int32+float32')
    case(fam, 'mul', [X([0.5, -1.25, 2.0]), I8([3, -4, 5])], name='float32*int8')
    case(fam, 'add', [I8([100, -100, 127, -128]), I8([100, -100, 1, -1])], name='int8+int8-wrap', tol='exact')
    case(fam, 'mul', [I8([100, -100, 16, 3]), I8([3, 2, 16, -5])], name='int8*int8-wrap', tol='exact')
    case(fam, 'sub', [I8([-100, 100]), I8([100, -100])], name='int8-int8-wrap', tol='exact')
    case(fam, 'add', [I8([1, 2]), I32([300, -5])], name='int8+int32', tol='exact')
    case(fam, 'add', [I32([2147483647, -2147483648, 5]), I32([1, -1, 5])], name='int32-overflow-wrap', tol='exact')
    case(fam, 'mul', [I32([123456789, -987654321, 65536, 46341]), I32([987654321, 123456789, 65536, 46341])],
         name='int32*int32-overflow-wrap', tol='exact')
    case(fam, 'mul', [I8([100, 3, -7])], {'scalar': 3}, name='int8*int-scalar-wrap', tol='exact')
    case(fam, 'add', [I32([1, -2, 3])], {'scalar': 0.5}, name='int32+fractional-scalar')
    case(fam, 'mul', [I8([1, -2, 3])], {'scalar': 2.5}, name='int8*fractional-scalar')
    case(fam, 'add', [B([True, True, False, False]), B([True, False, True, False])], name='bool+bool', tol='exact')
    case(fam, 'mul', [B([True, True, False, False]), B([True, False, True, False])], name='bool*bool', tol='exact')
    case(fam, 'add', [B([True, False])], {'scalar': 2}, name='bool+int-scalar', tol='exact')
    case(fam, 'add', [B([True, False])], {'scalar': 0.5}, name='bool+fractional-scalar')
    case(fam, 'add', [B([True, False, True]), X([0.5, 0.25, -1.0])], name='bool+float32')
    case(fam, 'add', [X64([1.5, -2.0]), X([0.25, 0.125])], name='float64+float32')
    case(fam, 'add', [X([1.5, -2.0]), X64(0.25)], name='float32+0d-float64')
    case(fam, 'add', [I32([1, -2]), X64(0.25)], name='int32+0d-float64')
    case(fam, 'add', [I8([1, -2]), I32(300)], name='int8+0d-int32', tol='exact')
    case(fam, 'div', [I32([1, -2, 7])], {'scalar': 2}, name='int32/int-scalar')
    case(fam, 'pow', [I32([2, -3, 0, 5]), I32([3, 3, 0, 2])], name='int32^int32', tol='exact')
    case(fam, 'maximum', [I32([1, 5, -3]), X([2.5, 0.0, -3.0])], name='int32-float32')
    case(fam, 'minimum', [I8([1, 5, -3]), I8([2, -4, -3])], name='int8', tol='exact')


def compare_cases():
    fam = 'compare'
    a = X([[1.0, 2.0, NAN], [-INF, 0.0, 3.5]], grad=False)
    b = X([2.0, 2.0, NAN], grad=False)
    for op in ['eq', 'ne', 'lt', 'le', 'gt', 'ge']:
        case(fam, op, [a, b], name='broadcast-nan', tol='exact')
        case(fam, op, [X([-1.0, 0.5, 2.0, NAN], grad=False)], {'scalar': 0.5}, name='scalar', tol='exact')
        case(fam, op, [I32([1, 2, 3])], {'scalar': 2.5}, name='int32-fractional-scalar', tol='exact')
    case(fam, 'eq', [X([0.1, 0.2], grad=False)], {'scalar': 0.1}, name='float32-rounded-scalar', tol='exact')
    case(fam, 'lt', [I8([-5, 100]), I32([300, 99])], name='int8-int32', tol='exact')
    case(fam, 'eq', [X([0.0, -0.0], grad=False), X([-0.0, 0.0], grad=False)], name='signed-zero', tol='exact')
    case(fam, 'ge', [X(randn(0, 2), grad=False), X(randn(2), grad=False)], name='empty', tol='exact')
    case(fam, 'gt', [X(randn(), grad=False), X(randn(3), grad=False)], name='0d', tol='exact')
    vals = [0.0, -0.0, 1.0, NAN, -INF, 0.5]
    other = [0.0, NAN, 0.0, 0.0, 2.0, -1.0]
    for op in ['logicalAnd', 'logicalOr', 'logicalXor']:
        case(fam, op, [B([True, True, False, False]), B([True, False, True, False])], name='bool', tol='exact')
        case(fam, op, [X(vals, grad=False), X(other, grad=False)], name='float-nan', tol='exact')
        case(fam, op, [I32([[0, 2], [-1, 0]]), B([True, False])], name='int32-bool-broadcast', tol='exact')


def where_cases():
    fam = 'where'
    c = B([[True, False, True], [False, False, True]])
    case(fam, 'where', [c, X(randn(2, 3)), X(randn(2, 3))], name='same-shape', tol='exact')
    case(fam, 'where', [B([[True], [False]]), X(randn(1, 3)), X(randn())], name='broadcast', tol='exact')
    case(fam, 'where', [c, X(randn(2, 3))], {'a': 0.5}, name='scalar-a', tol='exact')
    case(fam, 'where', [c, X(randn(3))], {'b': -1.5}, name='scalar-b', tol='exact')
    case(fam, 'where', [B([True, False, True]), X([NAN, 1.0, INF]), X([2.0, NAN, -INF])], name='nan-unselected', tol='exact')
    case(fam, 'where', [B([True, False]), I32([1, 2]), X([0.5, 0.25])], name='int32-float32', tol='exact')
    case(fam, 'where', [B([True, False]), I32([1, 2]), I8([-1, -2])], name='int32-int8', tol='exact')
    case(fam, 'where', [B(True), X(randn(2)), X(randn(2))], name='0d-cond', tol='exact')
    case(fam, 'where', [B(torch.zeros(0, 2, dtype=torch.bool)), X(randn(0, 2)), X(randn(2))], name='empty', tol='exact')
    m = B([[False, True, False]])
    case(fam, 'maskedFill', [X(randn(2, 3)), m], {'value': -INF}, name='neg-inf-broadcast', tol='exact')
    case(fam, 'maskedFill', [X(randn(2, 3)), B([[True, False, False], [False, False, True]])], {'value': 0.5}, name='same-shape', tol='exact')
    case(fam, 'maskedFill', [X(randn(2, 3)), B(True)], {'value': NAN}, name='0d-mask-nan', tol='exact')
    case(fam, 'maskedFill', [I32([[1, 2, 3]]), m], {'value': 7}, name='int32', tol='exact')
    case(fam, 'maskedFill', [X(randn()), B(False)], {'value': 1.0}, name='0d', tol='exact')


def reduce_cases():
    fam = 'reduce'
    x = randn(2, 3, 4, scale=1.5)
    dim_variants = [
        ('all', {}), ('all-keepdim', {'keepdim': True}), ('dim1', {'dims': 1}),
        ('dim-1-keepdim', {'dims': -1, 'keepdim': True}), ('dims0,2', {'dims': [0, 2]}),
        ('dims0,1-keepdim', {'dims': [0, 1], 'keepdim': True}), ('dims2,0,1', {'dims': [2, 0, 1]}),
    ]
    nanx = [[1.0, NAN, 2.0], [0.5, -1.0, 3.0]]
    for op in ['sum', 'mean', 'prod', 'amax', 'amin', 'logsumexp']:
        data = rand(2, 3, 4, lo=0.5, hi=1.6) * signs(2, 3, 4) if op == 'prod' else x
        for nm, a in dim_variants:
            case(fam, op, [X(data)], a, name=nm)
        case(fam, op, [X(randn(scale=2.0))], name='0d')
        case(fam, op, [X(randn(scale=2.0))], {'dims': 0, 'keepdim': True}, name='0d-dim0')
        case(fam, op, [X(randn(3, 1, 2))], {'dims': 1}, name='size1-dim')
        c = case(fam, op, [X(nanx)], {'dims': 1}, name='nan', grad=op in ('sum', 'mean', 'prod'))
        if op == 'prod':
            skip_grad_at_nan(c, 'grad of the NaN element unchecked: tessera gives it the product of the others '
                                '(exact prefix/suffix products), torch result / input = NaN')
        if op not in ('amax', 'amin'):
            case(fam, op, [X(torch.zeros(0, 3))], {'dims': 0}, name='empty-reduced')
            case(fam, op, [X(torch.zeros(0, 3))], {}, name='empty-all')
        case(fam, op, [X(torch.zeros(0, 3))], {'dims': 1}, name='empty-kept')
    # gradient special cases
    case(fam, 'prod', [X([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5], [1.0, -2.0, 0.5]])], {'dims': 1}, name='zeros')
    case(fam, 'prod', [X([[2.0, 0.0], [0.0, 3.0]])], {}, name='zeros-all')
    case(fam, 'amax', [X([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])], {'dims': 1}, name='ties')
    case(fam, 'amin', [X([[1.0, 3.0, 1.0], [2.0, -2.0, 2.0]])], {}, name='ties-all')
    case(fam, 'amax', [X([[1.0, INF], [-INF, -INF]])], {'dims': 1}, name='inf')
    case(fam, 'logsumexp', [X([[1e4, 9999.0, 9998.5], [-INF, -INF, -INF], [-INF, 0.0, 1.0], [INF, 1.0, 2.0]])], {'dims': 1},
         name='large-and-inf', grad=False)
    case(fam, 'logsumexp', [X([[1e4, 9999.0, 9998.5], [-1e4, -9999.0, -1e4], [-INF, 0.0, 1.0]])], {'dims': 1}, name='large')
    case(fam, 'sum', [X([1e4, 1.0, -1e4, 0.5])], {}, name='cancellation')
    case(fam, 'sum', [X([[1.0, INF], [-INF, INF]])], {'dims': 1}, name='inf')
    # dtypes
    case(fam, 'sum', [B([[True, False, True], [True, True, True]])], {}, name='bool', tol='exact',
         note='torch gives int64; tessera sums integers and bools in int32')
    case(fam, 'sum', [B([[True, False, True], [True, True, True]])], {'dims': 1}, name='bool-dim', tol='exact')
    case(fam, 'sum', [I8([[100, 100, 100], [-128, -128, 1]])], {'dims': 1}, name='int8', tol='exact',
         note='torch gives int64; tessera gives int32 (no int8 wraparound in sums)')
    case(fam, 'sum', [I32([[1, 2], [3, 4]])], {'dims': 0, 'keepdim': True}, name='int32', tol='exact')
    case(fam, 'prod', [I32([[1, 2, -3], [4, 5, 6]])], {'dims': 1}, name='int32', tol='exact')
    case(fam, 'mean', [X64(randn(2, 3))], {'dims': 1}, name='float64')
    case(fam, 'sum', [X64(randn(2, 3))], {}, name='float64')
    case(fam, 'amax', [I8([[1, -5], [7, 7]])], {'dims': 1}, name='int8', tol='exact')

    # variance and standard deviation
    for op in ['var', 'std']:
        t = 'kernel' if op == 'var' else 'composite'  # std = sqrt(var): two roundings
        for corr in [0, 1]:
            case(fam, op, [X(x)], {'correction': corr}, name=f'all-c{corr}', tol=t)
            case(fam, op, [X(x)], {'dims': 1, 'correction': corr}, name=f'dim1-c{corr}', tol=t)
            case(fam, op, [X(x)], {'dims': [0, 2], 'correction': corr, 'keepdim': True}, name=f'dims0,2-keepdim-c{corr}', tol=t)
        case(fam, op, [X(randn(4, 1))], {'dims': 1, 'correction': 1}, name='n1-c1', grad=False, tol=t)
        case(fam, op, [X(randn(4, 1))], {'dims': 1, 'correction': 0}, name='n1-c0', grad=op == 'var', tol=t)
        case(fam, op, [X(randn(2, 3))], {'dims': 1, 'correction': 2}, name='c2', tol=t)
        case(fam, op, [X(nanx)], {'dims': 1}, name='nan', grad=False, tol=t)
        case(fam, op, [X64(randn(3, 2))], {'dims': 0}, name='float64', tol=t)

    # max/min along a dim (values and int32 indices)
    t = X([[1.0, 3.0, 3.0, 0.0], [2.0, 0.0, 0.0, 2.0], [-1.0, -1.0, 5.0, NAN]])
    for op in ['maxDim', 'minDim']:
        case(fam, op, [X(x)], {'dim': 1}, name='dim1')
        case(fam, op, [X(x)], {'dim': -1, 'keepdim': True}, name='dim-1-keepdim')
        case(fam, op, [X(x)], {'dim': 0}, name='dim0')
        case(fam, op, [t], {'dim': 1}, name='ties-nan', grad=False)
        case(fam, op, [X([[1.0, 3.0, 3.0, 0.0], [2.0, 0.0, 0.0, 2.0]])], {'dim': 1}, name='ties')
        case(fam, op, [X(randn())], {'dim': 0}, name='0d')
        case(fam, op, [I32([[4, -2, 4], [0, 1, 1]])], {'dim': 1}, name='int32', tol='exact')
    for op in ['max', 'min']:
        case(fam, op, [X(x)], name='all')
        case(fam, op, [X([[1.0, 3.0], [3.0, -1.0], [-1.0, 3.0]])], name='ties')
        case(fam, op, [X([1.0, NAN, 2.0])], name='nan', grad=False)
    for op in ['argmax', 'argmin']:
        case(fam, op, [X(x, grad=False)], name='all', tol='exact')
        case(fam, op, [X(x, grad=False)], {'keepdim': True}, name='all-keepdim', tol='exact')
        case(fam, op, [X(x, grad=False)], {'dim': 1}, name='dim1', tol='exact')
        case(fam, op, [X(x, grad=False)], {'dim': -1, 'keepdim': True}, name='dim-1-keepdim', tol='exact')
        case(fam, op, [t], {'dim': 1}, name='ties-nan', tol='exact')
        case(fam, op, [I8([[3, 3, -1], [0, -4, -4]])], {'dim': 1}, name='int8', tol='exact')
        case(fam, op, [X(randn(), grad=False)], name='0d', tol='exact')
    # cumsum
    for d in [0, 1, -1]:
        case(fam, 'cumsum', [X(x)], {'dim': d}, name=f'dim{d}')
    case(fam, 'cumsum', [X(randn())], {'dim': 0}, name='0d')
    case(fam, 'cumsum', [X([1.0, NAN, 2.0, INF, -INF])], {'dim': 0}, name='nan-inf', grad=False)
    case(fam, 'cumsum', [X(torch.zeros(2, 0))], {'dim': 1}, name='empty')
    case(fam, 'cumsum', [I32([[1, 2, 3], [-4, 5, 6]])], {'dim': 1}, name='int32', tol='exact')
    case(fam, 'cumsum', [B([True, False, True, True])], {'dim': 0}, name='bool', tol='exact')
    # all / any
    fz = [[1.0, 0.0, NAN], [2.0, -0.5, 3.0], [0.0, 0.0, -0.0]]
    for op in ['all', 'any']:
        case(fam, op, [X(fz, grad=False)], {}, name='float-all', tol='exact')
        case(fam, op, [X(fz, grad=False)], {'dims': 1}, name='float-dim1', tol='exact')
        case(fam, op, [X([[NAN, NAN]], grad=False)], {'dims': 1}, name='nan-is-true', tol='exact')
        case(fam, op, [B([[True, False], [True, True]])], {'dims': 0, 'keepdim': True}, name='bool-keepdim', tol='exact')
        case(fam, op, [I32(torch.tensor([[[1, 0], [2, 3]], [[0, 0], [5, 6]]]))], {'dims': [0, 2]}, name='int32-dims0,2', tol='exact')
        case(fam, op, [B(torch.zeros(0, 2, dtype=torch.bool))], {'dims': 0}, name='empty', tol='exact')
        case(fam, op, [B(True)], {}, name='0d', tol='exact')
    # vector norms
    for p in [1, 2, 3, INF]:
        case(fam, 'norm', [X(x)], {'p': p}, name=f'p{p}-all', tol='composite')
        case(fam, 'norm', [X(x)], {'p': p, 'dims': [0, 2], 'keepdim': True}, name=f'p{p}-dims0,2', tol='composite')


def matmul_cases():
    fam = 'matmul'
    shapes = [
        ('1d-1d', (4,), (4,)), ('1d-2d', (3,), (3, 4)), ('2d-1d', (3, 4), (4,)), ('2d-2d', (2, 3), (3, 4)),
        ('batched', (2, 2, 3), (2, 3, 4)), ('broadcast-batch', (2, 1, 2, 3), (3, 3, 2)),
        ('batched-1d', (2, 2, 3), (3,)), ('1d-batched', (3,), (2, 3, 4)), ('2d-batched', (2, 3), (4, 3, 2)),
        ('k0', (2, 0), (0, 3)), ('m0', (0, 3), (3, 2)), ('1x1', (1, 1), (1, 1)), ('batch0', (0, 2, 3), (3, 2)),
        ('long-k', (2, 40), (40, 3)),
    ]
    for nm, sa, sb in shapes:
        case(fam, 'matmul', [X(randn(*sa)), X(randn(*sb))], name=nm)
    case(fam, 'matmul', [X64(randn(2, 3)), X64(randn(3, 2))], name='float64')
    case(fam, 'matmul', [I32([[1, -2], [3, 4]]), I32([[5, 6, -1], [7, 8, 2]])], name='int32', tol='exact')
    case(fam, 'matmul', [X([[1.0, INF], [NAN, 0.0]]), X([[1.0], [2.0]])], name='nan-inf', grad=False)
    case(fam, 'linear', [X(randn(2, 3)), X(randn(4, 3)), X(randn(4))], name='bias', tol='composite')
    case(fam, 'linear', [X(randn(2, 3)), X(randn(4, 3))], name='no-bias')
    case(fam, 'linear', [X(randn(3)), X(randn(2, 3)), X(randn(2))], name='1d-input', tol='composite')
    case(fam, 'linear', [X(randn(2, 2, 3)), X(randn(4, 3)), X(randn(4))], name='batched', tol='composite')


def softmax_cases():
    fam = 'softmax'
    x = randn(2, 3, 4, scale=2.0)
    rows = [[1e4, 9999.0, 9998.5, -1e4], [0.0, -INF, 1.0, 2.0], [-INF, -INF, 3.0, -INF], [-1e4, -1e4, -1e4, -1e4]]
    for op in ['softmax', 'logSoftmax']:
        for d in [0, 1, -1]:
            case(fam, op, [X(x)], {'dim': d}, name=f'dim{d}')
        case(fam, op, [X(rows)], {'dim': 1}, name='large-and-neg-inf')
        case(fam, op, [X(rows)], {'dim': 0}, name='large-and-neg-inf-dim0', grad=False)
        case(fam, op, [X([[-INF, -INF], [NAN, 1.0], [INF, 1.0]])], {'dim': 1}, name='all-neg-inf-nan-inf', grad=False)
        case(fam, op, [X(randn())], {'dim': 0}, name='0d')
        case(fam, op, [X(randn(3, 1))], {'dim': 1}, name='size1-dim')
        case(fam, op, [X(randn(0, 3))], {'dim': -1}, name='empty')
        case(fam, op, [X64(randn(2, 3))], {'dim': 1}, name='float64')


def index_cases():
    fam = 'index'
    E = 'exact'
    x = randn(3, 4)
    case(fam, 'cat', [X(randn(2, 3)), X(randn(1, 3)), X(randn(3, 3))], {'dim': 0}, name='dim0', tol=E)
    case(fam, 'cat', [X(randn(2, 1)), X(randn(2, 3))], {'dim': 1}, name='dim1', tol=E)
    case(fam, 'cat', [X(randn(2, 2, 1)), X(randn(2, 2, 2))], {'dim': -1}, name='dim-1', tol=E)
    case(fam, 'cat', [X(randn(0, 3)), X(randn(2, 3))], {'dim': 0}, name='empty-piece', tol=E)
    case(fam, 'cat', [X(randn(0)), X(randn(2, 3))], {'dim': 0}, name='skip-1d-empty', tol=E)
    case(fam, 'cat', [I32([[1, 2]]), X([[0.5, 1.5]])], {'dim': 0}, name='int32-float32', tol=E)
    case(fam, 'cat', [X(randn(4))], {'dim': 0}, name='single', tol=E)
    case(fam, 'stack', [X(randn(2, 3)), X(randn(2, 3))], {'dim': 0}, name='dim0', tol=E)
    case(fam, 'stack', [X(randn(2, 3)), X(randn(2, 3)), X(randn(2, 3))], {'dim': 1}, name='dim1', tol=E)
    case(fam, 'stack', [X(randn(2, 3)), X(randn(2, 3))], {'dim': -1}, name='dim-1', tol=E)
    case(fam, 'stack', [X(randn()), X(randn())], {'dim': 0}, name='0d', tol=E)
    case(fam, 'split', [X(randn(5, 2))], {'size': 2}, name='size2', tol=E)
    case(fam, 'split', [X(randn(2, 6))], {'size': [1, 3, 2], 'dim': 1}, name='sections', tol=E)
    case(fam, 'split', [X(randn(2, 3))], {'size': 5, 'dim': -1}, name='size-larger', tol=E)
    case(fam, 'chunk', [X(randn(5, 2))], {'chunks': 3}, name='5by3', tol=E)
    case(fam, 'chunk', [X(randn(2, 6))], {'chunks': 4, 'dim': 1}, name='6by4', tol=E)
    case(fam, 'chunk', [X(randn(2, 2))], {'chunks': 3, 'dim': -1}, name='more-chunks-than-size', tol=E)

    case(fam, 'gather', [X(x), IDX([[0, 2, 1, 0], [2, 2, 0, 1]])], {'dim': 0}, name='dim0-repeats', tol=E)
    case(fam, 'gather', [X(x), IDX([[3, 0], [1, 1], [0, 2]])], {'dim': 1}, name='dim1-smaller', tol=E)
    case(fam, 'gather', [X(randn(2, 3, 4)), IDX([[[1, 0], [2, 2]], [[0, 0], [1, 2]]])], {'dim': 1}, name='3d', tol=E)
    case(fam, 'gather', [X(x), IDX(torch.zeros(3, 0, dtype=torch.int64))], {'dim': 1}, name='empty-index', tol=E)
    case(fam, 'gather', [I32([[1, 2], [3, 4]]), IDX([[1, 1], [0, 1]])], {'dim': 1}, name='int32', tol=E)
    case(fam, 'scatter', [X(x), IDX([[2, 0, 1, 1]]), X(randn(1, 4))], {'dim': 0}, name='dim0', tol=E)
    case(fam, 'scatter', [X(x), IDX([[3, 1], [0, 2], [1, 0]]), X(randn(3, 2))], {'dim': 1}, name='dim1', tol=E)
    case(fam, 'scatter', [X(x), IDX([[1, 3]])], {'dim': 1, 'value': -2.5}, name='scalar-value', tol=E)
    src = X(randn(2, 5))
    src.grad = False
    case(fam, 'scatter', [X(x), IDX([[0, 1], [2, 0]]), src], {'dim': 0}, name='src-larger', tol=E)
    case(fam, 'scatterAdd', [X(x), IDX([[0, 0, 2, 2], [0, 1, 2, 0]]), X(randn(2, 4))], {'dim': 0}, name='dim0-repeats', tol='composite')
    case(fam, 'scatterAdd', [X(x), IDX([[1, 1, 1], [0, 3, 0], [2, 2, 2]]), X(randn(3, 3))], {'dim': 1}, name='dim1-repeats', tol='composite')
    case(fam, 'scatterAdd', [X(randn(2, 3, 2)), IDX([[[2], [0]]]), X(randn(1, 2, 1))], {'dim': 1}, name='3d', tol='composite')
    case(fam, 'indexSelect', [X(x), IDX([2, 0, 2])], {'dim': 0}, name='dim0-repeats', tol=E)
    case(fam, 'indexSelect', [X(x), IDX([3, 1])], {'dim': 1}, name='dim1', tol=E)
    case(fam, 'indexSelect', [X(randn(2, 3, 2)), IDX([1])], {'dim': -2}, name='dim-2', tol=E)
    case(fam, 'indexSelect', [X(x), IDX(torch.zeros(0, dtype=torch.int64))], {'dim': 0}, name='empty-index', tol=E)
    case(fam, 'indexAdd', [X(x), IDX([0, 2, 0]), X(randn(3, 4))], {'dim': 0}, name='dim0-repeats', tol='composite')
    case(fam, 'indexAdd', [X(x), IDX([3, 3]), X(randn(3, 2))], {'dim': 1}, name='dim1-repeats', tol='composite')
    case(fam, 'indexAdd', [I32([[1, 2], [3, 4]]), IDX([1]), I32([[10, 20]])], {'dim': 0}, name='int32', tol=E)

    case(fam, 'pad', [X(randn(4))], {'pads': [1, 2]}, name='1d', tol=E)
    case(fam, 'pad', [X(randn(2, 3))], {'pads': [1, 0, 2, 1], 'value': -1.5}, name='2d-value', tol=E)
    case(fam, 'pad', [X(randn(2, 2, 2))], {'pads': [0, 1]}, name='3d-last-dim', tol=E)
    case(fam, 'pad', [X(randn(0, 2))], {'pads': [1, 1, 1, 0], 'value': 3.0}, name='empty', tol=E)
    case(fam, 'pad', [X(randn(2, 2))], {'pads': [0, 0, 0, 0]}, name='zero-pads', tol=E)
    case(fam, 'pad', [X(randn(2, 2))], {'pads': [1, 1], 'value': -INF}, name='neg-inf', tol=E)
    case(fam, 'repeat', [X(randn(2, 3))], {'repeats': [2, 1]}, name='2x1', tol=E)
    case(fam, 'repeat', [X(randn(3))], {'repeats': [2, 2]}, name='new-dim', tol=E)
    case(fam, 'repeat', [X(randn(2, 1))], {'repeats': [1, 3, 0]}, name='zero', tol=E)
    case(fam, 'repeat', [X(randn())], {'repeats': [3]}, name='0d', tol=E)
    for op in ['tril', 'triu']:
        for d in [0, -1, 2]:
            case(fam, op, [X(x)], {'diagonal': d}, name=f'diag{d}', tol=E)
        case(fam, op, [X(randn(2, 3, 3))], {'diagonal': 1}, name='batched', tol=E)
        case(fam, op, [X(randn(4, 2))], {}, name='tall', tol=E)
        case(fam, op, [X([[NAN, INF], [-INF, NAN]])], {}, name='nan', tol=E, grad=False)
        case(fam, op, [I32([[1, 2], [3, 4]])], {}, name='int32', tol=E)
    case(fam, 'flip', [X(x)], {'dims': 0}, name='dim0', tol=E)
    case(fam, 'flip', [X(x)], {'dims': [0, 1]}, name='dims0,1', tol=E)
    case(fam, 'flip', [X(randn(2, 3, 2))], {'dims': [-1]}, name='dim-1', tol=E)
    case(fam, 'flip', [X(randn(0, 2))], {'dims': [0]}, name='empty', tol=E)
    case(fam, 'roll', [X(x)], {'shifts': 1, 'dims': 0}, name='dim0', tol=E)
    case(fam, 'roll', [X(x)], {'shifts': [1, -2], 'dims': [0, 1]}, name='two-dims', tol=E)
    case(fam, 'roll', [X(x)], {'shifts': 5}, name='flattened', tol=E)
    case(fam, 'roll', [X(x)], {'shifts': 9, 'dims': 1}, name='shift-larger', tol=E)
    case(fam, 'roll', [X(x)], {'shifts': -4, 'dims': 1}, name='full-turn', tol=E)
    case(fam, 'narrow', [X(x)], {'dim': 1, 'start': 1, 'length': 2}, name='dim1', tol=E)
    case(fam, 'narrow', [X(x)], {'dim': 0, 'start': -2, 'length': 2}, name='negative-start', tol=E)
    case(fam, 'narrow', [X(x)], {'dim': 0, 'start': 1, 'length': 0}, name='length0', tol=E)
    case(fam, 'slice', [X(randn(3, 7))], {'dim': 1, 'start': 1, 'end': 6, 'step': 2}, name='step2', tol=E)
    case(fam, 'slice', [X(randn(7, 2))], {'dim': 0, 'start': -5, 'end': 100, 'step': 3}, name='negative-start-step3', tol=E)
    case(fam, 'slice', [X(randn(3, 4))], {'dim': -1, 'start': 3, 'end': 1}, name='empty', tol=E)
    case(fam, 'select', [X(x)], {'dim': 1, 'index': -1}, name='dim1', tol=E)
    case(fam, 'select', [X(randn(3))], {'dim': 0, 'index': 1}, name='to-0d', tol=E)


def view_cases():
    fam = 'view'
    E = 'exact'
    x = randn(2, 3, 4)
    case(fam, 'permute', [X(x)], {'dims': [2, 0, 1]}, name='201', tol=E)
    case(fam, 'permute', [X(x)], {'dims': [-1, 1, 0]}, name='negative', tol=E)
    case(fam, 'transpose', [X(x)], {'dim0': 0, 'dim1': 2}, name='0-2', tol=E)
    case(fam, 'T', [X(randn(3, 2))], name='2d', tol=E)
    case(fam, 'T', [X(randn(3))], name='1d', tol=E)
    case(fam, 'mT', [X(x)], name='3d', tol=E)
    case(fam, 'expand', [X(randn(3, 1))], {'shape': [2, 3, 4]}, name='new-and-size1', tol=E)
    case(fam, 'expand', [X(randn(1, 2))], {'shape': [3, -1]}, name='minus1', tol=E)
    case(fam, 'expand', [X(randn())], {'shape': [2, 2]}, name='0d', tol=E)
    case(fam, 'expand', [X(randn(1, 3))], {'shape': [0, 3]}, name='to-empty', tol=E)
    case(fam, 'reshape', [X(x)], {'shape': [4, -1]}, name='4x-1', tol=E)
    case(fam, 'reshape', [X(x)], {'shape': [24]}, name='flat', tol=E)
    case(fam, 'reshape', [X(randn(1))], {'shape': []}, name='to-0d', tol=E)
    case(fam, 'reshape', [X(randn(0, 3))], {'shape': [3, 0, 1]}, name='empty', tol=E)
    case(fam, 'squeeze', [X(randn(1, 3, 1))], {}, name='all', tol=E)
    case(fam, 'squeeze', [X(randn(1, 3, 1))], {'dim': -1}, name='dim-1', tol=E)
    case(fam, 'unsqueeze', [X(randn(2, 3))], {'dim': 1}, name='dim1', tol=E)
    case(fam, 'unsqueeze', [X(randn(2, 3))], {'dim': -1}, name='dim-1', tol=E)
    case(fam, 'flatten', [X(x)], {'startDim': 1, 'endDim': 2}, name='1-2', tol=E)
    case(fam, 'flatten', [X(randn())], {}, name='0d', tol=E)
    case(fam, 'clone', [X(x)], name='3d', tol=E)
    case(fam, 'contiguous', [X(x)], name='3d', tol=E)
    case(fam, 'clone', [I8([[1, -2], [3, 4]])], name='int8', tol=E)
    case(fam, 'unflatten', [X(randn(2, 6))], {'dim': 1, 'sizes': [3, -1]}, name='dim1', tol=E)


def inplace_cases():
    """In-place ops write through the input's own layout (strided in the test's strided variant)."""
    fam = 'inplace'
    x = lambda *s: X(randn(*s, scale=2.0), grad=False)
    case(fam, 'add_', [x(2, 3), x(3)], {'alpha': 2.0}, name='broadcast-alpha')
    case(fam, 'add_', [I8([100, -100, 5])], {'scalar': 100}, name='int8-wrap', tol='exact')
    case(fam, 'sub_', [x(2, 3)], {'scalar': 1.5}, name='scalar')
    case(fam, 'mul_', [x(2, 3), x(2, 1)], name='broadcast')
    case(fam, 'mul_', [I32([[3, -4], [5, 6]]), I32([2, -3])], name='int32', tol='exact')
    case(fam, 'div_', [x(2, 3), X(rand(3, lo=0.5, hi=2.0), grad=False)], name='broadcast')
    case(fam, 'pow_', [X(rand(2, 3, lo=0.1, hi=2.0), grad=False)], {'scalar': 1.5}, name='scalar')
    case(fam, 'clamp_', [x(2, 3)], {'min': -0.5, 'max': 0.5}, name='min-max', tol='exact')
    case(fam, 'fill_', [x(2, 3)], {'value': -2.5}, name='value', tol='exact')
    case(fam, 'fill_', [I8([[1, 2]])], {'value': -7}, name='int8', tol='exact')
    case(fam, 'zero_', [x(3, 2)], name='3x2', tol='exact')
    case(fam, 'maskedFill_', [x(2, 3), B([[True, False, True]])], {'value': NAN}, name='broadcast-mask', tol='exact')
    case(fam, 'copy_', [x(2, 3), x(3)], name='broadcast', tol='exact')
    case(fam, 'copy_', [x(2, 2), I32([[1, -2], [3, 4]])], name='int32-into-float32', tol='exact')


def main():
    unary_cases()
    cast_cases()
    binary_cases()
    compare_cases()
    where_cases()
    reduce_cases()
    matmul_cases()
    softmax_cases()
    index_cases()
    view_cases()
    inplace_cases()
    doc = {
        'generator': f'/usr/bin/python3 scripts/gen_fixtures.py (torch {torch.__version__}, numpy {np.__version__}, '
                     f'python {platform.python_version()})',
        'note': 'Float inputs are float32 numbers; float outputs and gradients are float64 references. '
                'Gradients are of sum_k (outputs[k] * v[k]).sum() for each input with grad: true. '
                'Indices and integer sums are int32 in tessera (torch: int64). NaN/Infinity are "nan", "inf", "-inf".',
        'cases': CASES,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False)
    with open(OUT, 'w') as f:
        f.write(text)
        f.write('\n')
    print(f'wrote {len(CASES)} cases, {len(text) / 1e6:.2f} MB to {os.path.relpath(OUT, ROOT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
