#!/usr/bin/env python3
"""PyTorch twin of `slingshot bench train`: the same three models (shapes, batch, AdamW), trained
for the same number of steps on one thread, timed the same way (tokens/s from the median step, by
the wall clock and by the process's CPU time).

    /usr/bin/python3 bench/bench_train_torch.py [--steps S] [--warmup W] [gpt mlp gpt256]
    /usr/bin/python3 bench/bench_train_torch.py --serve [--warmup W]

Prints one line per model that `slingshot bench train` parses:

    RESULT name=gpt tokens_per_s=12345.6 cpu_tokens_per_s=12400.1 ms_per_step=165.9 n_params=431360 torch=1.13.1 threads=1

and, when torch cannot be imported, one line `NOTORCH <reason>` (exit status 0).

With --serve it takes commands on standard input instead, one per line, so that `slingshot bench
train` can alternate short segments of its steps and torch's under the same machine load:

    build NAME   -> builds NAME, runs --warmup steps; prints `READY name=... n_params=... torch=...
                    threads=...`
    steps K      -> K timed steps; prints `STEPS w_1 ... w_K ; c_1 ... c_K` (seconds of each
                    step by the wall clock, then by the process's CPU time)
    quit         -> exits

It prints `SERVING torch=VERSION` when ready (or `NOTORCH <reason>`).

Legend: B batch, T context, C channels, H hidden, V vocabulary, L layers, NH heads.
The models mirror src/model/mlp.c and src/model/gpt.c parameter for parameter (the n_params each
prints equals slingshot's count):
  mlp: x = concat emb[row[0..T-1]]; h = tanh(x W1 + b1); logits = h W2 + b2; predict row[T]
  gpt: pre-LayerNorm blocks (causal multi-head attention over the full T x T score matrix with
       the upper triangle masked, GELU (tanh approximation) MLP of width 4C), final LayerNorm,
       head tied to the token embedding; predict row[t+1] from row[0..t] for every t < T.
One step = draw B random windows of T+1 tokens from a random corpus, forward, mean cross-entropy,
backward, AdamW (lr 3e-3, betas 0.9/0.99, eps 1e-8, weight decay 0.1 on matrices and embeddings
only, as slingshot's decay mask). No gradient clipping in either program.
"""
import argparse
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
    print(f"NOTORCH {type(e).__name__}: {e}")
    sys.exit(0)

CONFIGS = {
    "gpt": dict(family="gpt", V=256, T=64, B=32, C=128, L=2, NH=4),
    "mlp": dict(family="mlp", V=256, T=8, B=512, C=32, H=256),
    "gpt256": dict(family="gpt", V=256, T=64, B=32, C=256, L=2, NH=4),
}


class MLP(nn.Module):
    def __init__(self, V, T, C, H):
        super().__init__()
        self.T, self.C = T, C
        self.emb = nn.Embedding(V, C)
        self.fc1 = nn.Linear(T * C, H)
        self.fc2 = nn.Linear(H, V)

    def forward(self, rows):
        x = self.emb(rows[:, : self.T]).reshape(rows.shape[0], self.T * self.C)
        logits = self.fc2(torch.tanh(self.fc1(x)))
        return F.cross_entropy(logits, rows[:, self.T])


class Block(nn.Module):
    def __init__(self, T, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / hs**0.5)
        att = att.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, T, C, L, NH):
        super().__init__()
        self.T = T
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList([Block(T, C, NH) for _ in range(L)])
        self.lnf = nn.LayerNorm(C)

    def forward(self, rows):
        idx, targets = rows[:, : self.T], rows[:, 1:]
        x = self.wte(idx) + self.wpe.weight[: self.T]
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()  # tied head
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def build(cfg):
    if cfg["family"] == "mlp":
        return MLP(cfg["V"], cfg["T"], cfg["C"], cfg["H"]), 1
    return GPT(cfg["V"], cfg["T"], cfg["C"], cfg["L"], cfg["NH"]), cfg["T"]


def make_step(name):
    """The model, its optimiser and one training step of configuration NAME: (step, n_params,
    tokens per step)."""
    cfg = CONFIGS[name]
    torch.manual_seed(1)
    model, targets_per_row = build(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-3, betas=(0.9, 0.99), eps=1e-8)
    V, T, B = cfg["V"], cfg["T"], cfg["B"]
    corpus = torch.randint(0, V, (1 << 16,))
    offsets = torch.arange(T + 1)

    def step():
        starts = torch.randint(0, corpus.numel() - T, (B, 1))
        rows = corpus[starts + offsets]
        loss = model(rows)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, n_params, B * targets_per_row


def timed(step, steps):
    """Wall-clock and CPU seconds of each of `steps` steps."""
    times, cpu = [], []
    for _ in range(steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


def bench(name, steps, warmup):
    step, n_params, tokens = make_step(name)
    for _ in range(warmup):
        step()
    times, cpu = timed(step, steps)

    def median(x):
        # the median step, as slingshot's side takes it
        x = sorted(x)
        return x[steps // 2] if steps % 2 else 0.5 * (x[steps // 2 - 1] + x[steps // 2])

    med, cmed = median(times), median(cpu)
    print(f"RESULT name={name} tokens_per_s={tokens / med:.1f} cpu_tokens_per_s={tokens / cmed:.1f} "
          f"ms_per_step={1e3 * med:.2f} n_params={n_params} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}", flush=True)


def serve(warmup):
    """The command loop of --serve (see the module's docstring)."""
    print(f"SERVING torch={torch.__version__}", flush=True)
    step = None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "build" and len(cmd) == 2 and cmd[1] in CONFIGS:
            step, n_params, _ = make_step(cmd[1])
            for _ in range(warmup):
                step()
            print(f"READY name={cmd[1]} n_params={n_params} torch={torch.__version__} "
                  f"threads={torch.get_num_threads()}", flush=True)
        elif cmd[0] == "steps" and len(cmd) == 2 and step is not None:
            times, cpu = timed(step, int(cmd[1]))
            print("STEPS " + " ".join(f"{t:.9f}" for t in times) + " ; " +
                  " ".join(f"{c:.9f}" for c in cpu), flush=True)
        else:
            print(f"ERROR cannot do {line.strip()!r}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--serve", action="store_true",
                    help="take build/steps/quit commands on standard input")
    ap.add_argument("models", nargs="*", default=list(CONFIGS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if a.serve:
        serve(a.warmup)
        return
    for name in a.models:
        if name not in CONFIGS:
            sys.exit(f"unknown model {name!r}: use {', '.join(CONFIGS)}")
        bench(name, a.steps, a.warmup)


if __name__ == "__main__":
    main()
