#!/usr/bin/env python3
"""
@file Writes test/fixtures/optim.json: reference trajectories for test/optim/*.test.ts.

Run:  /usr/bin/python3 scripts/gen_optim_fixtures.py

Deterministic: parameters and gradients come from one seeded torch.Generator, rounded to 4 decimals
and then to float32, so each value is exactly representable in float32 and in float64.

Contents (all names camelCase, as tessera spells the options):
  optimizers: torch.optim.{SGD, Adam, AdamW, Adagrad, RMSprop} (PyTorch 1.13, foreach=False) on three
      small parameters ("layer.weight" (3,4), "layer.bias" (3,), "proj.weight" (2,3)) for 5 steps with
      a fixed gradient sequence; "layer.bias" has no gradient (grad None) at step 3, so it is skipped
      there. Each case has the trajectory run in float64 and, for torch optimizers, in float32.
      LAMB and LARS are not in torch 1.13: `lamb_reference` and `lars_reference` below implement
      sheet 29 (tensorflow/addons optimizers/lamb.py; You et al. 2017 Algorithm 1) in float64 numpy.
  schedulers: the lr of each of two param groups (and momentum / beta1 for OneCycleLR) after
      construction and after each of 30 steps of torch.optim.lr_scheduler; the warmup + decay
      schedule is torch's LambdaLR with Hugging Face's closed forms (see `warmup_factor`).
  clipping: torch.nn.utils.clip_grad_norm_ (total norm and clipped grads) for several norm types.
"""
import json
import math
import os
import re
import warnings

import numpy as np
import torch

warnings.filterwarnings('ignore')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'optim.json')
GEN = torch.Generator().manual_seed(29)
STEPS = 5
NAMES = ['layer.weight', 'layer.bias', 'proj.weight']
SHAPES = [(3, 4), (3,), (2, 3)]
SKIP = (2, 1)  # (step, param): this gradient is None


def f32(x):
    return torch.round(x, decimals=4).float().double()


def randn(shape, scale=1.0):
    return f32(torch.randn(shape, generator=GEN, dtype=torch.float64) * scale)


INIT = [randn(s) for s in SHAPES]
INIT[1] = torch.zeros(3, dtype=torch.float64)  # a zero-initialised bias: LAMB/LARS ratio 1 at step 1
GRADS = [[randn(s, 0.5 if i < 3 else 2.0) for s in SHAPES] for i in range(STEPS)]


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1)]


def grad_at(step, i):
    return None if (step, i) == SKIP else GRADS[step][i]


# ------------------------------------------------------------------ torch optimizers

TORCH = {'SGD': torch.optim.SGD, 'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW,
         'Adagrad': torch.optim.Adagrad, 'RMSprop': torch.optim.RMSprop}
SNAKE = {'weightDecay': 'weight_decay', 'lrDecay': 'lr_decay', 'initialAccumulatorValue': 'initial_accumulator_value'}


def torch_opts(opts):
    return {SNAKE.get(k, k): (tuple(v) if isinstance(v, list) else v) for k, v in opts.items()}


def run_torch(name, opts, groups, dtype):
    params = [p.clone().to(dtype).requires_grad_() for p in INIT]
    if groups is None:
        arg = params
    else:
        arg = [{'params': [params[i] for i in g['params']], **torch_opts(g['options'])} for g in groups]
    opt = TORCH[name](arg, **torch_opts(opts), foreach=False)  # the single-tensor code path
    traj = []
    for step in range(STEPS):
        for i, p in enumerate(params):
            g = grad_at(step, i)
            p.grad = None if g is None else g.to(dtype).clone()
        opt.step()
        traj.append([flat(p) for p in params])
    return traj


# ------------------------------------------------------------------ LAMB and LARS references (float64)

DEFAULT_EXCLUDE = re.compile(r'bias$|norm|(^|\.)(bn|ln)', re.I)


def default_exclude(name, w):
    return w.ndim <= 1 or DEFAULT_EXCLUDE.search(name) is not None


def lamb_reference(lr, betas, eps, weightDecay, exclude=default_exclude, trustClip=None):
    """Sheet 29 / tensorflow_addons/optimizers/lamb.py `_resource_apply_dense`, per tensor:
         m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  m_hat = m/(1-b1^t);  v_hat = v/(1-b2^t)
         u = m_hat / (sqrt(v_hat) + eps)  (+ wd w unless excluded from weight decay)
         r = phi(||w||)/||u|| if ||w|| > 0 and ||u|| > 0 else 1  (1 if excluded from adaptation)
         w = w - lr r u
       phi = identity, or a clip of ||w|| to trustClip = [lo, hi] (You et al. 2020, Algorithm 2).
       The step t counts this tensor's own updates (a tensor without a gradient is skipped)."""
    b1, b2 = betas
    ws = [p.numpy().copy() for p in INIT]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    t = [0] * len(ws)
    traj = []
    for step in range(STEPS):
        for i, w in enumerate(ws):
            g = grad_at(step, i)
            if g is None:
                continue
            g = g.numpy()
            t[i] += 1
            excluded = exclude(NAMES[i], w)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            u = (m[i] / (1 - b1 ** t[i])) / (np.sqrt(v[i] / (1 - b2 ** t[i])) + eps)
            if not excluded:
                u = u + weightDecay * w
            r = 1.0
            w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
            if not excluded and w_norm > 0 and u_norm > 0:
                phi = w_norm if trustClip is None else min(max(w_norm, trustClip[0]), trustClip[1])
                r = phi / u_norm
            ws[i] = w - lr * r * u
        traj.append([[float(x) for x in w.reshape(-1)] for w in ws])
    return traj


def lars_reference(lr, momentum, weightDecay, trustCoef, eps, exclude=default_exclude):
    """Sheet 29 (You, Gitman & Ginsburg 2017, Algorithm 1), per tensor:
         local = trustCoef ||w|| / (||g|| + wd ||w|| + eps) if ||w|| > 0 and ||g|| > 0 else 1
         (local = 1 and wd = 0 for excluded tensors);  b = mu b + lr local (g + wd w);  w = w - b"""
    ws = [p.numpy().copy() for p in INIT]
    bufs = [np.zeros_like(w) for w in ws]
    traj = []
    for step in range(STEPS):
        for i, w in enumerate(ws):
            g = grad_at(step, i)
            if g is None:
                continue
            g = g.numpy()
            excluded = exclude(NAMES[i], w)
            wd = 0.0 if excluded else weightDecay
            local = 1.0
            w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
            if not excluded and w_norm > 0 and g_norm > 0:
                local = trustCoef * w_norm / (g_norm + wd * w_norm + eps)
            bufs[i] = momentum * bufs[i] + lr * local * (g + wd * w)
            ws[i] = w - bufs[i]
        traj.append([[float(x) for x in w.reshape(-1)] for w in ws])
    return traj


def never(name, w):
    return False


OPTIMIZER_CASES = [
    ('SGD', {'lr': 0.1}, None),
    ('SGD', {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 0.01}, None),
    ('SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 0.05}, None),
    ('SGD', {'lr': 0.1, 'momentum': 0.5, 'maximize': True}, None),
    ('Adam', {'lr': 0.01}, None),
    ('Adam', {'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weightDecay': 0.1, 'amsgrad': True}, None),
    ('Adam', {'lr': 0.02, 'maximize': True}, None),
    ('AdamW', {'lr': 0.01}, None),
    ('AdamW', {'lr': 0.01, 'weightDecay': 0.1, 'amsgrad': True}, None),
    ('Adagrad', {'lr': 0.1}, None),
    ('Adagrad', {'lr': 0.1, 'lrDecay': 0.01, 'initialAccumulatorValue': 0.1, 'weightDecay': 0.05, 'eps': 1e-8}, None),
    ('RMSprop', {'lr': 0.01}, None),
    ('RMSprop', {'lr': 0.01, 'alpha': 0.9, 'momentum': 0.9, 'centered': True, 'weightDecay': 0.01}, None),
    ('RMSprop', {'lr': 0.01, 'momentum': 0.5, 'maximize': True}, None),
    # parameter groups: each group overrides lr / weightDecay / momentum
    ('SGD', {'lr': 0.1, 'momentum': 0.9}, [{'params': [0, 1], 'options': {}}, {'params': [2], 'options': {'lr': 0.01, 'weightDecay': 0.1}}]),
    ('AdamW', {'lr': 0.01, 'weightDecay': 0.1}, [{'params': [0, 2], 'options': {'lr': 0.03}}, {'params': [1], 'options': {'weightDecay': 0.0}}]),
]

REFERENCE_CASES = [
    ('LAMB', {'lr': 0.01}, lambda: lamb_reference(0.01, (0.9, 0.999), 1e-6, 0.0)),
    ('LAMB', {'lr': 0.02, 'betas': [0.8, 0.99], 'weightDecay': 0.1}, lambda: lamb_reference(0.02, (0.8, 0.99), 1e-6, 0.1)),
    ('LAMB', {'lr': 0.02, 'weightDecay': 0.1, 'excludeNothing': True}, lambda: lamb_reference(0.02, (0.9, 0.999), 1e-6, 0.1, never)),
    ('LAMB', {'lr': 0.02, 'weightDecay': 0.01, 'trustClip': [0.0, 1.0], 'excludeNothing': True},
     lambda: lamb_reference(0.02, (0.9, 0.999), 1e-6, 0.01, never, [0.0, 1.0])),
    ('LARS', {'lr': 0.5, 'momentum': 0.9, 'weightDecay': 0.01}, lambda: lars_reference(0.5, 0.9, 0.01, 0.001, 0.0)),
    ('LARS', {'lr': 0.5, 'momentum': 0.8, 'weightDecay': 0.05, 'trustCoef': 0.02, 'eps': 1e-8, 'excludeNothing': True},
     lambda: lars_reference(0.5, 0.8, 0.05, 0.02, 1e-8, never)),
]


def optimizer_fixtures():
    out = []
    for name, opts, groups in OPTIMIZER_CASES:
        case = {'optimizer': name, 'options': opts, 'trajectories': {
            'float64': run_torch(name, opts, groups, torch.float64),
            'float32': run_torch(name, opts, groups, torch.float32)}}
        if groups is not None:
            case['groups'] = groups
        out.append(case)
    for name, opts, ref in REFERENCE_CASES:
        out.append({'optimizer': name, 'options': opts, 'trajectories': {'float64': ref()}})
    return out


# ------------------------------------------------------------------ schedulers

S = torch.optim.lr_scheduler


def warmup_factor(step, warmup, total, decay, power, min_ratio):
    """Hugging Face transformers optimization.py: get_polynomial_decay_schedule_with_warmup (lr_end =
    min_ratio * lr_init) and get_cosine_schedule_with_warmup (num_cycles 0.5, floored at min_ratio)."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    if decay == 'poly':
        if step > total:
            return min_ratio
        pct_remaining = 1 - (step - warmup) / (total - warmup)
        return (1 - min_ratio) * pct_remaining ** power + min_ratio
    progress = min(1.0, float(step - warmup) / float(max(1, total - warmup)))
    return min_ratio + (1 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


SCHED_CASES = [
    ('StepLR', 'SGD', {'stepSize': 7, 'gamma': 0.5}, lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ('MultiStepLR', 'SGD', {'milestones': [5, 12, 12, 20], 'gamma': 0.3}, lambda o: S.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3)),
    ('ExponentialLR', 'SGD', {'gamma': 0.9}, lambda o: S.ExponentialLR(o, gamma=0.9)),
    ('CosineAnnealingLR', 'SGD', {'tMax': 10, 'etaMin': 0.001}, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ('CosineAnnealingLR', 'Adam', {'tMax': 7}, lambda o: S.CosineAnnealingLR(o, T_max=7)),
    ('OneCycleLR', 'SGD', {'maxLr': [1.0, 0.1], 'totalSteps': 30}, lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.1], total_steps=30)),
    ('OneCycleLR', 'Adam', {'maxLr': 0.01, 'epochs': 3, 'stepsPerEpoch': 10, 'annealStrategy': 'linear', 'threePhase': True, 'pctStart': 0.25},
     lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=10, anneal_strategy='linear', three_phase=True, pct_start=0.25)),
    ('OneCycleLR', 'SGD', {'maxLr': 0.5, 'totalSteps': 30, 'cycleMomentum': False, 'divFactor': 10, 'finalDivFactor': 100},
     lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, cycle_momentum=False, div_factor=10., final_div_factor=100.)),
    ('WarmupDecayLR', 'SGD', {'warmupSteps': 5, 'totalSteps': 25, 'decay': 'poly', 'power': 2, 'minLrRatio': 0.1},
     lambda o: S.LambdaLR(o, lambda s: warmup_factor(s, 5, 25, 'poly', 2, 0.1))),
    ('WarmupDecayLR', 'SGD', {'warmupSteps': 5, 'totalSteps': 30, 'decay': 'cosine'},
     lambda o: S.LambdaLR(o, lambda s: warmup_factor(s, 5, 30, 'cosine', 1, 0.0))),
]


def scheduler_fixtures():
    out = []
    for name, opt_name, opts, make in SCHED_CASES:
        p1, p2 = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
        groups = [{'params': [p1], 'lr': 0.1}, {'params': [p2], 'lr': 0.01}]
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9) if opt_name == 'SGD' else torch.optim.Adam(groups)
        sched = make(opt)

        def momenta():
            return [g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]
        lrs, moms = [sched.get_last_lr()], [momenta()]
        for _ in range(30):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            moms.append(momenta())
        out.append({'scheduler': name, 'optimizer': opt_name, 'options': opts, 'lrs': lrs, 'momentum': moms})
    return out


# ------------------------------------------------------------------ clipping

def clipping_fixtures():
    out = []
    for norm_type, max_norm in [(2.0, 1.0), (1.0, 2.0), (float('inf'), 0.5), (3.0, 0.8), (2.0, 100.0)]:
        params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
        for p, g in zip(params, GRADS[3]):
            p.grad = g.float().clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        out.append({'normType': 'inf' if math.isinf(norm_type) else norm_type, 'maxNorm': max_norm,
                    'grads': [flat(g) for g in GRADS[3]], 'totalNorm': float(total),
                    'clipped': [flat(p.grad) for p in params]})
    return out


def main():
    data = {
        'generator': f'scripts/gen_optim_fixtures.py (/usr/bin/python3 scripts/gen_optim_fixtures.py; torch {torch.__version__}, numpy {np.__version__})',
        'params': {'names': NAMES, 'shapes': [list(s) for s in SHAPES], 'init': [flat(p) for p in INIT],
                   'grads': [[None if (s, i) == SKIP else flat(g) for i, g in enumerate(gs)] for s, gs in enumerate(GRADS)]},
        'optimizers': optimizer_fixtures(),
        'schedulers': scheduler_fixtures(),
        'clipping': clipping_fixtures(),
    }
    with open(OUT, 'w') as f:
        json.dump(data, f, separators=(',', ':'))
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
