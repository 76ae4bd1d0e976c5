#!/usr/bin/env python3
"""Golden fixtures for the GPT of src/model/gpt.c, from an independent PyTorch implementation.

Command (Debian's python3, which has torch; CI does not need it, the C test reads the files):

    /usr/bin/python3 tests/reference/make_fixtures_gpt.py tests/data

Writes gpt_tied.bin and gpt_untied.bin: the tiny GPT (V=11, T=5, C=8, L=2, NH=2, B=3) built here
from torch.nn.functional, computed in float64 from float32 parameters, so that the reference is
exact to the precision the C model (float32) is tested at.

File format (little-endian, no padding), read by tests/unit/test_gpt.c:
    char[8]   "SLGPTFX1"
    int32[8]  V T C L NH B tied steps
    int64     N
    float64   lr beta1 beta2 eps weight_decay       (torch.optim.AdamW hyper-parameters)
    float32   params[N]        flat, in gpt.c's layout (wte, wpe, blocks, lnf, head if untied)
    int32     tokens[B][T+1]
    float32   logits[B][T][V]
    float64   loss             mean cross-entropy, nats
    float32   grads[N]         d loss / d params, same layout
    float64   losses[steps]    the loss at each of `steps` AdamW steps on the same batch, measured
                               before that step's update
"""
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

V, T, C, L, NH, B = 11, 5, 8, 2, 2, 3
STEPS = 10
LR, BETA1, BETA2, EPS, WD = 1e-2, 0.9, 0.95, 1e-8, 0.1
LN_EPS = 1e-5


def layout(tied):
    """(name, shape, decay) in the order of the flat buffer (gpt.c's header comment)."""
    t = [("wte", (V, C), 1), ("wpe", (T, C), 1)]
    for l in range(L):
        t += [
            (f"h{l}.ln1_g", (C,), 0),
            (f"h{l}.ln1_b", (C,), 0),
            (f"h{l}.qkv_w", (3 * C, C), 1),
            (f"h{l}.qkv_b", (3 * C,), 0),
            (f"h{l}.proj_w", (C, C), 1),
            (f"h{l}.proj_b", (C,), 0),
            (f"h{l}.ln2_g", (C,), 0),
            (f"h{l}.ln2_b", (C,), 0),
            (f"h{l}.fc_w", (4 * C, C), 1),
            (f"h{l}.fc_b", (4 * C,), 0),
            (f"h{l}.fcproj_w", (C, 4 * C), 1),
            (f"h{l}.fcproj_b", (C,), 0),
        ]
    t += [("lnf_g", (C,), 0), ("lnf_b", (C,), 0)]
    if not tied:
        t.append(("head_w", (V, C), 1))
    return t


def make_params(tied, rng):
    """float32 values away from the default init (weights larger, biases non-zero, gains not 1)
    so that every term of the model shows in the logits and the gradients."""
    P = {}
    for name, shape, _ in layout(tied):
        z = rng.standard_normal(shape)
        if name.endswith("_g"):
            x = 1.0 + 0.1 * z
        elif name.endswith("_b"):
            x = 0.1 * z
        elif name in ("wte", "wpe"):
            x = 0.5 * z
        else:
            x = 0.3 * z
        P[name] = x.astype(np.float32)
    return P


def forward(P, idx, tied):
    """logits [B, T, V] of the pre-LayerNorm GPT, written from the architecture, not from gpt.c."""
    hs = C // NH
    x = P["wte"][idx] + P["wpe"][torch.arange(T)]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        p = lambda n: P[f"h{l}.{n}"]  # noqa: E731
        h = F.layer_norm(x, (C,), p("ln1_g"), p("ln1_b"), eps=LN_EPS)
        q, k, v = F.linear(h, p("qkv_w"), p("qkv_b")).split(C, dim=-1)
        q, k, v = (u.view(B, T, NH, hs).transpose(1, 2) for u in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, p("proj_w"), p("proj_b"))
        h = F.layer_norm(x, (C,), p("ln2_g"), p("ln2_b"), eps=LN_EPS)
        h = F.gelu(F.linear(h, p("fc_w"), p("fc_b")), approximate="tanh")
        x = x + F.linear(h, p("fcproj_w"), p("fcproj_b"))
    x = F.layer_norm(x, (C,), P["lnf_g"], P["lnf_b"], eps=LN_EPS)
    return F.linear(x, P["wte"] if tied else P["head_w"])


def make(tied, seed, out_dir):
    rng = np.random.default_rng(seed)
    P32 = make_params(tied, rng)
    tokens = rng.integers(0, V, size=(B, T + 1), dtype=np.int32)
    idx = torch.from_numpy(tokens[:, :T].astype(np.int64))
    tgt = torch.from_numpy(tokens[:, 1:].astype(np.int64))
    names = [n for n, _, _ in layout(tied)]
    P = {n: torch.nn.Parameter(torch.from_numpy(P32[n].astype(np.float64))) for n in names}
    decay = [P[n] for n, _, d in layout(tied) if d]
    no_decay = [P[n] for n, _, d in layout(tied) if not d]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
        lr=LR, betas=(BETA1, BETA2), eps=EPS)

    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        logits = forward(P, idx, tied)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        loss.backward()
        if step == 0:
            logits0 = logits.detach().numpy().astype(np.float32)
            loss0 = float(loss)
            grads0 = np.concatenate([P[n].grad.numpy().ravel() for n in names]).astype(np.float32)
        losses.append(float(loss))
        opt.step()

    flat = np.concatenate([P32[n].ravel() for n in names]).astype("<f4")
    N = flat.size
    path = Path(out_dir) / ("gpt_tied.bin" if tied else "gpt_untied.bin")
    with open(path, "wb") as f:
        f.write(b"SLGPTFX1")
        f.write(struct.pack("<8i", V, T, C, L, NH, B, int(tied), STEPS))
        f.write(struct.pack("<q", N))
        f.write(struct.pack("<5d", LR, BETA1, BETA2, EPS, WD))
        f.write(flat.tobytes())
        f.write(tokens.astype("<i4").tobytes())
        f.write(logits0.astype("<f4").tobytes())
        f.write(struct.pack("<d", loss0))
        f.write(grads0.astype("<f4").tobytes())
        f.write(np.asarray(losses, dtype="<f8").tobytes())
    print(f"{path}: N={N}, loss {loss0:.6f} -> {losses[-1]:.6f} after {STEPS} steps, "
          f"{path.stat().st_size} bytes")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/reference/make_fixtures_gpt.py tests/data")
    torch.set_default_dtype(torch.float64)
    make(True, 20240601, sys.argv[1])
    make(False, 20240602, sys.argv[1])


if __name__ == "__main__":
    main()
