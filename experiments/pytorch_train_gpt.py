#!/usr/bin/env python3
"""nanoGPT's shakespeare_char CPU recipe in PyTorch: the reference for examples/train_gpt's loss.

    python3 experiments/pytorch_train_gpt.py --data tinyshakespeare.txt \\
        --seed 1 --eval-batches 200 --out pytorch_seed1.json

What nanoGPT's train.py does with config/train_shakespeare_char.py and its README's CPU flags
(--device=cpu --compile=False --eval_iters=20 --block_size=64 --batch_size=12 --n_layer=4
--n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0), with the model and
optimizer of benchmarks/pytorch_gpt.py (nanoGPT's model.py without biases or dropout, tied head;
AdamW betas 0.9/0.99, weight decay 0.1 on the 2-D weights, embeddings included):

- data as data/shakespeare_char/prepare.py: the vocabulary is the sorted set of the file's
  characters, the first 90% trains, the last 10% validates; a batch is --batch windows of --block
  characters at uniform random offsets in [0, len - block), drawn from torch's global generator;
- learning rate as get_lr: linear warm-up lr*(it+1)/(warmup+1) for 100 iterations, then cosine
  from 1e-3 to 1e-4 at iteration --lr-decay-iters (default: --iterations, as the CPU flags set
  lr_decay_iters = max_iters, and as wfc does; at least --warmup + 1); gradients clipped to a
  global norm of 1.0;
- evaluation as estimate_loss: model.eval(), no_grad, the mean loss of --eval-batches batches per
  split, every --eval-interval iterations and at the end (iteration 2000, after 2000 optimizer
  steps: nanoGPT's last evaluation).

At the end it also measures the validation loss of every non-overlapping window of the split (no
sampling noise) and, with --spread-draws N, N independent estimates of --spread-batches batches each
(nanoGPT's eval_iters=20 by default) to show how noisy such an estimate is. Writes JSON to --out.
Torch's CPU threads: --threads (default 1).

Speed: Debian's python3-torch calls the system libblas.so.3, which is the slow reference BLAS
unless an optimised one is installed (about 1.2 s per iteration here, against 80 ms with OpenBLAS:
apt install libopenblas0, or LD_LIBRARY_PATH pointing at OpenBLAS's libblas.so.3).

This script draws its own initial weights and batches from torch's generator, so its losses agree
with wfc's only statistically (seed to seed). experiments/pytorch_lockstep.py checks wfc's
training step for step instead: it starts PyTorch from a wfc run's own initial weights, feeds it
that run's batches and compares the losses of every iteration. The helpers below (schedule,
batches, training step, evaluation) are shared with it.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
from pytorch_gpt import GPT, make_optimizer  # noqa: E402


def nanogpt_lr(it, lr, min_lr, warmup, decay_iters):
    """nanoGPT's get_lr for 0-based iteration `it`: linear warm-up, cosine decay, then the floor."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def token_splits(text, vocabulary):
    """The text as token ids (indices into `vocabulary`, a list of characters), split as nanoGPT's
    prepare.py splits it: the first 90% trains, the last 10% validates."""
    index = {c: i for i, c in enumerate(vocabulary)}
    tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(tokens))
    return {"train": tokens[:n], "val": tokens[n:]}


def windows(data, starts, block):
    """Inputs and targets (the inputs shifted by one) of the windows of `block` tokens at `starts`."""
    x = torch.stack([data[i:i + block] for i in starts])
    y = torch.stack([data[i + 1:i + 1 + block] for i in starts])
    return x, y


def accumulate_gradients(model, micro_batches):
    """Backward of the mean loss of (inputs, targets) micro-batches; returns that mean loss."""
    total = 0.0
    for x, y in micro_batches:
        _, loss = model(x, y)
        (loss / len(micro_batches)).backward()
        total += loss.item()
    return total / len(micro_batches)


def optimizer_step(model, optimizer, clip):
    """nanoGPT's step after backward: gradients clipped to a global norm of `clip` (0: not
    clipped), the optimizer's step, zero_grad. Returns the gradient norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else math.inf)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(norm)


@torch.no_grad()
def mean_loss(model, batches):
    """nanoGPT's estimate_loss for one split: the mean loss of (inputs, targets) batches in eval mode."""
    model.eval()
    try:
        return statistics.fmean(model(x, y)[1].item() for x, y in batches)
    finally:
        model.train()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="tinyshakespeare.txt")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--eval-batches", type=int, default=20, help="batches per split per evaluation (eval_iters)")
    ap.add_argument("--eval-interval", type=int, default=250)
    ap.add_argument("--spread-draws", type=int, default=0, help="extra independent estimates of the final losses")
    ap.add_argument("--spread-batches", type=int, default=20, help="batches in each of those estimates")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--lr-decay-iters", type=int, default=None, help="end of the cosine decay (default: --iterations)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.lr_decay_iters is None:  # as wfc's trainer_settings::schedule
        args.lr_decay_iters = max(args.iterations, args.warmup + 1)
    if args.lr_decay_iters <= args.warmup:
        ap.error(f"--lr-decay-iters ({args.lr_decay_iters}) must exceed --warmup ({args.warmup})")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(args.data, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    splits = token_splits(text, chars)

    def get_batch(split, generator=None):
        data = splits[split]
        return windows(data, torch.randint(len(data) - args.block, (args.batch,), generator=generator), args.block)

    model = GPT(len(chars), args.block, args.width, args.heads, args.layers)
    optimizer, _ = make_optimizer(model, torch.device("cpu"))

    def estimate_loss(batches, generator=None):
        return {s: mean_loss(model, (get_batch(s, generator) for _ in range(batches))) for s in ("train", "val")}

    @torch.no_grad()
    def full_val_loss():  # every non-overlapping window of the validation split
        model.eval()
        data, total, count = splits["val"], 0.0, 0
        for chunk in torch.arange(0, len(data) - args.block, args.block).split(256):
            x, y = windows(data, chunk, args.block)
            total += model(x, y)[1].item() * x.numel()
            count += x.numel()
        model.train()
        return total / count

    print(f"{sum(p.numel() for p in model.parameters())} parameters, vocabulary {len(chars)}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)", flush=True)
    history, train_s = [], 0.0
    wall = time.perf_counter()
    x, y = get_batch("train")
    for it in range(args.iterations + 1):
        lr = nanogpt_lr(it, args.lr, args.min_lr, args.warmup, args.lr_decay_iters)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if it % args.eval_interval == 0 or it == args.iterations:
            losses = estimate_loss(args.eval_batches)
            history.append({"iteration": it, **losses})
            print(f"iter {it:5d}: train {losses['train']:.4f}, val {losses['val']:.4f}, "
                  f"{1e3 * train_s / max(it, 1):.1f} ms/iter", flush=True)
        if it == args.iterations:
            break
        t0 = time.perf_counter()
        accumulate_gradients(model, [(x, y)])
        x, y = get_batch("train")  # no random draws in forward or backward: nanoGPT's order of draws
        optimizer_step(model, optimizer, 1.0)
        train_s += time.perf_counter() - t0
    wall = time.perf_counter() - wall

    result = {
        "framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "args": vars(args), "vocabulary": len(chars),
        "final": history[-1], "eval_batches": args.eval_batches,
        "val_full": full_val_loss(),
        "ms_per_iteration": 1e3 * train_s / args.iterations, "wall_s": wall, "history": history,
    }
    if args.spread_draws:
        gen = torch.Generator().manual_seed(10_000 + args.seed)
        draws = [estimate_loss(args.spread_batches, gen) for _ in range(args.spread_draws)]
        vals = [d["val"] for d in draws]
        result["spread"] = {"batches": args.spread_batches, "draws": draws, "val_mean": statistics.fmean(vals),
                            "val_stdev": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                            "val_min": min(vals), "val_max": max(vals)}
    print(json.dumps({k: result[k] for k in ("final", "val_full", "ms_per_iteration", "wall_s")}), flush=True)
    if "spread" in result:
        s = result["spread"]
        print(f"{len(s['draws'])} draws of {s['batches']} batches: val mean {s['val_mean']:.4f}, "
              f"stdev {s['val_stdev']:.4f}, range [{s['val_min']:.4f}, {s['val_max']:.4f}]")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
