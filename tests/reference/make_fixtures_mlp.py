#!/usr/bin/python3
"""Golden fixtures for the MLP language model (src/model/mlp.c), computed independently in PyTorch.

Command (Debian's python3 with python3-torch; the pyenv python3 first on PATH has no torch):

    /usr/bin/python3 tests/reference/make_fixtures_mlp.py tests/data

CI has no torch: tests/unit/test_mlp.c reads only the committed files this script writes.

The model is the one in mlp.c, with the same parameter layout (row-major, in x out weights):
    x      = concat_t emb[row[t]]        emb [V x C]
    h      = tanh(x @ W1 + b1)           W1 [T*C x H], b1 [H]
    logits = h @ W2 + b2                 W2 [H x V],   b2 [V]
    loss   = cross_entropy(logits, row[T])   (mean over the B rows, nats)
The flat parameter order is emb, W1, b1, W2, b2. The parameters are drawn here, rounded to float32
(the C model's storage) and then everything is computed in float64, so the fixture is the exact
answer for the float32 weights.

Files written (little-endian, raw):
    mlp_meta.txt         dims, AdamW hyper-parameters, the loss and the 10 AdamW-step losses
    mlp_tokens.i32       [B x (T+1)] int32
    mlp_params.f32       [N] float32 initial parameters
    mlp_probs.f32        [B x V] softmax probabilities at the initial parameters
    mlp_grads.f32        [N] d loss / d params at the initial parameters
    mlp_params_after.f32 [N] parameters after 10 AdamW steps on the same batch
AdamW: torch.optim.AdamW, weight decay on emb, W1, W2 only (biases in a group with decay 0).
Step k (k = 0..9) records the loss at the parameters after k updates, then takes update k+1.
"""
import os
import sys

import numpy as np
import torch

V, T, C, H, B = 11, 3, 4, 7, 5
LR, BETA1, BETA2, EPS, WD = 1e-2, 0.9, 0.95, 1e-8, 0.1
STEPS = 10


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(20240607)
    # O(1) scales so that the gradients are well above float rounding (the embedding rows of
    # tokens absent from the batch have exactly zero gradient, in both implementations).
    shapes = [("emb", (V, C), 1.0), ("W1", (T * C, H), 0.5), ("b1", (H,), 0.1),
              ("W2", (H, V), 0.5), ("b2", (V,), 0.1)]
    params = {}
    for name, shape, scale in shapes:
        w = (torch.randn(shape, generator=g) * scale).to(torch.float32)  # float32 storage
        params[name] = w.to(torch.float64).requires_grad_(True)
    tokens = torch.randint(0, V, (B, T + 1), generator=g, dtype=torch.int64)

    def loss_fn():
        x = params["emb"][tokens[:, :T]].reshape(B, T * C)
        h = torch.tanh(x @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        return torch.nn.functional.cross_entropy(logits, tokens[:, T]), logits

    def flat(get):
        return np.concatenate([get(params[name]).reshape(-1) for name, _, _ in shapes])

    init = flat(lambda p: p.detach().numpy()).astype(np.float32)
    loss, logits = loss_fn()
    probs = torch.softmax(logits, dim=1).detach().numpy().astype(np.float32)
    loss.backward()
    grads = flat(lambda p: p.grad.numpy()).astype(np.float32)
    loss0 = loss.item()

    for p in params.values():
        p.grad = None
    opt = torch.optim.AdamW(
        [{"params": [params["emb"], params["W1"], params["W2"]], "weight_decay": WD},
         {"params": [params["b1"], params["b2"]], "weight_decay": 0.0}],
        lr=LR, betas=(BETA1, BETA2), eps=EPS)
    step_losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss, _ = loss_fn()
        step_losses.append(loss.item())
        loss.backward()
        opt.step()
    after = flat(lambda p: p.detach().numpy()).astype(np.float32)

    tokens.numpy().astype("<i4").tofile(os.path.join(out_dir, "mlp_tokens.i32"))
    init.astype("<f4").tofile(os.path.join(out_dir, "mlp_params.f32"))
    probs.astype("<f4").tofile(os.path.join(out_dir, "mlp_probs.f32"))
    grads.astype("<f4").tofile(os.path.join(out_dir, "mlp_grads.f32"))
    after.astype("<f4").tofile(os.path.join(out_dir, "mlp_params_after.f32"))
    with open(os.path.join(out_dir, "mlp_meta.txt"), "w") as f:
        f.write("# written by tests/reference/make_fixtures_mlp.py (torch %s)\n" % torch.__version__)
        for key, val in [("V", V), ("T", T), ("C", C), ("H", H), ("B", B), ("N", init.size),
                         ("steps", STEPS)]:
            f.write("%s %d\n" % (key, val))
        for key, val in [("lr", LR), ("beta1", BETA1), ("beta2", BETA2), ("eps", EPS),
                         ("weight_decay", WD), ("loss", loss0)]:
            f.write("%s %.17g\n" % (key, val))
        for k, l in enumerate(step_losses):
            f.write("step_loss_%d %.17g\n" % (k, l))
    print("N=%d loss=%.9f final step loss=%.9f" % (init.size, loss0, step_losses[-1]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 tests/reference/make_fixtures_mlp.py tests/data")
    main(sys.argv[1])
