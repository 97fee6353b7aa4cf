"""Reference values for nn.MultiheadAttention, nn.TransformerEncoderLayer and the BatchNorm modules.

Run offline:  /usr/bin/python3 scripts/gen_attention_modules_fixtures.py
Writes test/fixtures/nn-modules.json (state dicts, inputs, outputs and gradients, float64).
"""
import json
import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
cases = []


def t(x):
    return {"shape": list(x.shape), "data": x.detach().reshape(-1).tolist(),
            "dtype": "bool" if x.dtype == torch.bool else "float64"}


def sd(m):
    return {k: t(v) for k, v in m.state_dict().items()}


def mha_case(name, batch_first, L, S, N, kpm, attn, need_weights=True):
    m = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    with torch.no_grad():
        m.in_proj_bias.normal_()
        m.out_proj.bias.normal_()
    shape_q = (N, L, 8) if batch_first else (L, N, 8)
    shape_k = (N, S, 8) if batch_first else (S, N, 8)
    q = torch.randn(shape_q, requires_grad=True)
    k = torch.randn(shape_k)
    v = torch.randn(shape_k)
    out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights)
    cot = torch.randn(out.shape)
    (out * cot).sum().backward()
    cases.append({"kind": "mha", "name": name, "batchFirst": batch_first, "needWeights": need_weights, "state": sd(m),
                  "q": t(q), "k": t(k), "v": t(v), "kpm": t(kpm) if kpm is not None else None,
                  "attn": t(attn) if attn is not None else None, "out": t(out),
                  "weights": t(w) if w is not None else None, "cot": t(cot), "dq": t(q.grad), "dW": t(m.in_proj_weight.grad)})


mha_case("plain", False, 4, 5, 2, None, None)
mha_case("batch-first padding", True, 3, 4, 2, torch.tensor([[False, False, True, True], [False, False, False, False]]), None)
mha_case("bool attn mask", False, 4, 4, 2, None, torch.ones(4, 4, dtype=torch.bool).triu(1))
mha_case("float attn mask, no weights", True, 3, 5, 2, None, torch.randn(3, 5), need_weights=False)


def encoder_case(name, norm_first, activation, kpm):
    m = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation,
                                         batch_first=True, norm_first=norm_first)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.5)
    m.train()  # dropout is 0; train mode avoids the fused inference fast path
    x = torch.randn(2, 5, 8, requires_grad=True)
    y = m(x, src_key_padding_mask=kpm)
    cot = torch.randn(y.shape)
    (y * cot).sum().backward()
    cases.append({"kind": "encoder", "name": name, "normFirst": norm_first, "activation": activation, "state": sd(m),
                  "x": t(x), "kpm": t(kpm) if kpm is not None else None, "out": t(y), "cot": t(cot), "dx": t(x.grad)})


encoder_case("post-norm relu", False, "relu", None)
encoder_case("pre-norm gelu padding", True, "gelu", torch.tensor([[False] * 5, [False, False, False, True, True]]))


def bn_case(name, momentum):
    m = torch.nn.BatchNorm2d(3, momentum=momentum)
    with torch.no_grad():
        m.weight.normal_()
        m.bias.normal_()
    xs = [torch.randn(4, 3, 2, 2) * (i + 1) + i for i in range(3)]
    outs = [m(x) for x in xs]
    m.eval()
    xe = torch.randn(2, 3, 2, 2)
    ye = m(xe)
    cases.append({"kind": "batchnorm", "name": name, "momentum": momentum, "weight": t(m.weight), "bias": t(m.bias),
                  "xs": [t(x) for x in xs], "outs": [t(o) for o in outs], "state": sd(m), "xEval": t(xe), "yEval": t(ye)})


bn_case("momentum 0.1", 0.1)
bn_case("cumulative", None)

with open("test/fixtures/nn-modules.json", "w") as f:
    json.dump({"generator": f"/usr/bin/python3 scripts/gen_attention_modules_fixtures.py (torch {torch.__version__})", "cases": cases}, f)
print(len(cases), "cases")
