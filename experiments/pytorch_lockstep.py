#!/usr/bin/env python3
"""Lockstep check of wfc's GPT training against PyTorch: the same run, step for step.

PyTorch (the model and optimizer of benchmarks/pytorch_gpt.py, the training step and evaluation of
experiments/pytorch_train_gpt.py) repeats a wfc training run from the same initial weights on the
same batches, and the two training losses are compared at every iteration. Agreement to float32
rounding over a whole run shows that wfc's forward pass, hand-written backward pass, gradient
clipping, AdamW and learning-rate schedule compute what PyTorch's autograd and AdamW compute.

How it gets wfc's run:
- the initial weights: from a checkpoint wfc saved after iteration 1 (--stop-at 1), by undoing that
  first AdamW step (at step 1, p1 = p0(1 - lr·wd) - lr·m̂/(√v̂ + eps), and the checkpoint holds p1
  and the moments m, v); the first moment also gives wfc's gradient of step 1, compared with
  PyTorch's tensor by tensor;
- the model and training settings: from that checkpoint's metadata (model: layers, heads, width,
  block, vocab, positions, bias; training.settings: seed, batch, block, accumulation, iterations,
  lr, min_lr, warmup, betas, eps, weight decay, clip, eval_batches) and its character vocabulary;
- the batches: wfc's Philox4x32-10 counter generator (include/wfc/core/rng.hpp) and window sampler
  (include/wfc/data/text_dataset.hpp) reimplemented in numpy: training micro-batch
  iteration·accumulation + m from stream 0 of the seed, evaluation batch k from stream 1 (train)
  or 2 (validation);
- wfc's per-iteration losses, rates and gradient norms: its --metrics file (.csv or .jsonl).

Run it end to end from the repository root (a GPT with learned positions; any seed and sizes):

    build/tools/wfc/wfc train tinyshakespeare.txt --seed 7 --iterations 2000 \\
        --threads 1 --stop-at 1 --out step1.safetensors
    build/tools/wfc/wfc train tinyshakespeare.txt --seed 7 --iterations 2000 \\
        --threads 1 --out run.safetensors --metrics run.csv
    LD_LIBRARY_PATH=/tmp/openblas/root/usr/lib/x86_64-linux-gnu/openblas-serial \\
        /usr/bin/python3 experiments/pytorch_lockstep.py --data tinyshakespeare.txt \\
        --checkpoint step1.safetensors --metrics run.csv

The two wfc runs take the same flags, so that the second one's first iteration is the first one's
(wfc's training is deterministic); the second may be cut short with --stop-at N. --iterations N
here stops PyTorch after N iterations (default: as far as the metrics file goes); the learning-rate
schedule still spans the run's own iterations, as wfc's --stop-at does.

It prints the step-1 comparison (loss and gradients), a line at every iteration where wfc evaluated
(and at the last), and at the end: the largest |PyTorch loss - wfc loss| over the iterations and
where, the largest relative difference of the gradient norms, and the final train and validation
losses of both on wfc's evaluation batches. Exit status: 0 when every per-step and evaluation loss
difference is within --tolerance, 1 when one is not, 2 when the inputs cannot be used (not a wfc
GPT checkpoint of iteration 1, rotary positions, metrics whose learning rates are not the
checkpoint's schedule, a data file whose characters are not its vocabulary, ...). A metrics file of
another run with the same schedule fails at iteration 1 instead. --out writes every step as JSON.

Tolerance (default 1e-4), from the default 2000-iteration tinyshakespeare run (seed 7, one thread,
OpenBLAS): float32 rounding, which differs between the two (other GEMM orders and kernels) and
which training amplifies, left the per-step losses at most 4.5e-6 apart (1e-6 over the first 250
iterations; evaluations 1.1e-6). Small genuine differences grow past 1e-4: PyTorch's exact (erf)
GELU instead of wfc's tanh form (--gelu exact) reaches 5.6e-5 by iteration 250 and 5.0e-4 by 1000;
over the first 200 iterations, a learning rate 1% too high gives 2.1e-3 and weight decay on the
LayerNorm gains 7.8e-3; over 2000 (seed 1), other initial weights give 0.07, other batches 0.3. A
much longer or larger run, or another BLAS or thread count, may need a larger tolerance.

Environment: Debian's python3-torch (1.13) and python3-numpy through /usr/bin/python3, with
torch.set_num_threads(--threads, default 1). Debian's torch calls the system libblas.so.3, the
slow reference BLAS unless OpenBLAS is installed (about 15 times slower at this size). To leave
the system as it is, unpack OpenBLAS and point LD_LIBRARY_PATH at it (as above):
    apt-get download libopenblas0-serial && dpkg -x libopenblas0-serial_*.deb /tmp/openblas/root
A 2000-iteration run then takes about 3 minutes on an idle core (6 with the core shared).
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
sys.path.insert(0, HERE)
from pytorch_gpt import GPT, make_optimizer  # noqa: E402
from pytorch_train_gpt import (accumulate_gradients, mean_loss, nanogpt_lr, optimizer_step,  # noqa: E402
                               token_splits, windows)
from read_checkpoint import CheckpointError, read_safetensors  # noqa: E402


class Unusable(Exception):
    """Inputs this check cannot use (exit status 2)."""


# wfc's counter-based generator, vectorised over the counter i (include/wfc/core/rng.hpp).
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(i, stream, seed):
    """The four 32-bit words (as uint64 arrays) of Philox4x32-10 at counters i of (seed, stream)."""
    i = np.asarray(i, dtype=np.uint64)
    c0, c1 = i & MASK32, i >> np.uint64(32)
    c2 = np.full_like(i, np.uint64(stream & 0xFFFFFFFF))
    c3 = np.full_like(i, np.uint64(stream >> 32))
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    w0, w1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
    for _ in range(10):
        p0, p1 = m0 * c0, m1 * c2  # 32 × 32 bits: exact in 64
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & MASK32, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & MASK32
        k0, k1 = (k0 + w0) & MASK32, (k1 + w1) & MASK32
    return c0, c1, c2, c3


def uniform_double(i, stream, seed):
    """counter_rng(seed, stream).uniform<double>(i): 53 bits of words 0 and 1, in [0, 1)."""
    hi, lo = philox4x32_10(i, stream, seed)[:2]
    x = ((hi << np.uint64(21)) ^ (lo >> np.uint64(11))) & np.uint64((1 << 53) - 1)
    return x.astype(np.float64) * (1.0 / 9007199254740992.0)


def wfc_batch(data, batch, block, seed, stream, step):
    """text_dataset::sample: batch number `step` of (seed, stream), `batch` windows of `block` tokens."""
    u = uniform_double(np.arange(step * batch, (step + 1) * batch, dtype=np.uint64), stream, seed)
    starts = (u * float(len(data) - block)).astype(np.int64)  # index_t(u · (n − block)): truncation
    return windows(data, starts.tolist(), block)


TRAIN_STREAM, EVAL_STREAMS = 0, {"train": 1, "val": 2}  # training_batches, evaluation_batches


def wfc_rate(settings, it):
    """The learning rate of 0-based iteration `it` (trainer_settings::schedule: nanoGPT's, decaying
    over the run's iterations, at least warm-up + 1)."""
    s = settings
    return nanogpt_lr(it, s["lr"], s["min_lr"], s["warmup"], max(s["iterations"], s["warmup"] + 1))


def parameter_layout(config):
    """The GPT's flat parameter buffer as include/wfc/model/gpt.hpp lays it out, in order:
    (name, shape, weight decay). Linear weights are [in, out]; decay on matrices and embeddings."""
    d, bias = config["width"], config["bias"]
    spec = [("wte.weight", (config["vocab"], d), True), ("wpe.weight", (config["block"], d), True)]

    def norm(name):
        spec.append((name + ".weight", (d,), False))
        if bias:
            spec.append((name + ".bias", (d,), False))

    def linear(name, n_in, n_out):
        spec.append((name + ".weight", (n_in, n_out), True))
        if bias:
            spec.append((name + ".bias", (n_out,), False))

    for layer in range(config["layers"]):
        h = f"h.{layer}"
        norm(h + ".ln_1")
        linear(h + ".attn.c_attn", d, 3 * d)
        linear(h + ".attn.c_proj", d, d)
        norm(h + ".ln_2")
        linear(h + ".mlp.c_fc", d, 4 * d)
        linear(h + ".mlp.c_proj", 4 * d, d)
    norm("ln_f")
    return spec


def torch_name(name):
    """PyTorch's name of wfc's parameter (the head is tied to transformer.wte.weight)."""
    return "transformer." + name


def transposed(name, array):
    """A linear weight in the other's layout (wfc's [in, out], PyTorch's [out, in]); others as they are."""
    return array.T if array.ndim == 2 and name.startswith("h.") else array


def load_step1(path):
    """The run a checkpoint of iteration 1 belongs to: (model config, trainer settings,
    vocabulary, the initial parameters, wfc's clipped gradient of step 1), arrays in float64."""
    try:
        metadata, tensors = read_safetensors(path)
    except (CheckpointError, OSError) as e:
        raise Unusable(str(e))
    if metadata.get("format") != "wfc-checkpoint" or metadata.get("format_version") != "1":
        raise Unusable(f"{path}: not a wfc checkpoint of format version 1")
    try:
        model, tokenizer = json.loads(metadata["model"]), json.loads(metadata["tokenizer"])
        training = json.loads(metadata["training"]) if "training" in metadata else None
        if model.get("kind") != "gpt":
            raise Unusable(f"{path}: it holds a {model.get('kind')!r} model; this check trains GPTs only")
        if model["positions"] != "learned":
            raise Unusable(f"{path}: the GPT has {model['positions']} positions; benchmarks/pytorch_gpt.py's GPT "
                           "has learned positions only")
        config = model["config"]
        vocabulary = [chr(c) for c in tokenizer["vocabulary"]]
        if training is None:
            raise Unusable(f"{path}: it holds no training state (saved without its optimiser); use the checkpoint "
                           "`wfc train ... --stop-at 1` writes")
        if training["iteration"] != 1 or training["optimizer_steps"] != 1:
            raise Unusable(f"{path}: saved after iteration {training['iteration']} ({training['optimizer_steps']} "
                           "optimizer steps); the initial weights can be recovered from iteration 1 only: "
                           "`wfc train ... --stop-at 1`")
        settings = training["settings"]
        for key in ("seed", "batch", "block", "accumulation", "iterations", "lr", "min_lr", "warmup", "beta1",
                    "beta2", "eps", "weight_decay", "clip", "eval_batches"):
            if key not in settings:
                raise Unusable(f"{path}: training.settings has no {key!r}")
    except (KeyError, TypeError, ValueError) as e:
        raise Unusable(f"{path}: its metadata is not a wfc GPT checkpoint's ({type(e).__name__}: {e})")
    if settings["block"] > config["block"]:
        raise Unusable(f"{path}: trained on windows of {settings['block']} tokens, longer than the model's block "
                       f"{config['block']}")

    spec = parameter_layout(config)
    size = sum(math.prod(shape) for _, shape, _ in spec)
    for name in ("optimizer.exp_avg", "optimizer.exp_avg_sq"):
        if name not in tensors or tensors[name].shape != (size,):
            raise Unusable(f"{path}: the tensor {name!r} is missing or not of shape [{size}] (the model's parameters)")
    for name, shape, _ in spec:
        if name not in tensors or tensors[name].shape != shape:
            got = list(tensors[name].shape) if name in tensors else "missing"
            raise Unusable(f"{path}: tensor {name!r} is {got}; model.config asks for {list(shape)}")

    # Undo AdamW's first step (include/wfc/backend/*/adamw.hpp): m = (1 - β1)·g, v = (1 - β2)·g²
    # with g the clipped gradient, then p1 = p0 - lr·wd·p0 - lr·m̂/(√v̂ + eps).
    s = settings
    lr1 = wfc_rate(s, 0)
    m_hat = tensors["optimizer.exp_avg"].astype(np.float64) / (1 - s["beta1"])
    v_hat = tensors["optimizer.exp_avg_sq"].astype(np.float64) / (1 - s["beta2"])
    update = m_hat / (np.sqrt(v_hat) + s["eps"])
    initial, gradient, offset = {}, {}, 0
    for name, shape, decay in spec:
        n = math.prod(shape)
        p1 = tensors[name].astype(np.float64)
        shrink = 1 - lr1 * (s["weight_decay"] if decay else 0.0)
        initial[name] = (p1 + lr1 * update[offset:offset + n].reshape(shape)) / shrink
        gradient[name] = m_hat[offset:offset + n].reshape(shape)
        offset += n
    return config, settings, vocabulary, initial, gradient


def read_metrics(path):
    """wfc train's --metrics file (.csv or .jsonl): {iteration: record}, losses, lr and grad_norm as
    floats, train_loss and val_loss where it evaluated."""
    records = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            if path.endswith(".csv"):
                rows = list(csv.DictReader(f))
            else:
                rows = [json.loads(line) for line in f if line.strip()]
        for row in rows:
            r = {"loss": float(row["loss"]), "lr": float(row["lr"]), "grad_norm": float(row["grad_norm"])}
            for key in ("train_loss", "val_loss"):
                if row.get(key) not in (None, ""):
                    r[key] = float(row[key])
            records[int(row["iteration"])] = r  # a resumed run appends: the last record of an iteration wins
    except (OSError, KeyError, TypeError, ValueError) as e:
        raise Unusable(f"{path}: not a readable wfc metrics file ({type(e).__name__}: {e})")
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the text the run trained on")
    ap.add_argument("--checkpoint", required=True,
                    help="the run's checkpoint after iteration 1 (wfc train --stop-at 1)")
    ap.add_argument("--metrics", required=True, help="the run's --metrics file (.csv or .jsonl)")
    ap.add_argument("--iterations", type=int, default=None,
                    help="stop after this many iterations (default: as far as the metrics file goes)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest accepted |PyTorch loss - wfc loss|")
    ap.add_argument("--gelu", choices=("tanh", "exact"), default="tanh",
                    help="PyTorch's GELU: tanh (wfc's) or exact (erf, nanoGPT's)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", default=None, help="write every step's losses and gradient norms here (JSON)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        return lockstep(args)
    except Unusable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def lockstep(args):
    config, s, vocabulary, initial, wfc_gradient = load_step1(args.checkpoint)
    metrics = read_metrics(args.metrics)
    available = 0
    while available + 1 in metrics and available < s["iterations"]:
        available += 1
    stop = available if args.iterations is None else args.iterations
    if not 1 <= stop <= available:
        raise Unusable(f"{args.metrics} holds iterations 1 to {available} of the run's {s['iterations']}; "
                       f"cannot check {stop}")
    rates = [wfc_rate(s, it) for it in range(stop)]
    for it, lr in enumerate(rates):
        if abs(metrics[it + 1]["lr"] - lr) > 1e-6 * lr:
            raise Unusable(f"{args.metrics}: the learning rate of iteration {it + 1} is {metrics[it + 1]['lr']:.9g}, "
                           f"the checkpoint's settings give {lr:.9g}: the metrics are another run's")

    try:
        with open(args.data, encoding="utf-8", newline="") as f:  # every character as wfc reads it
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise Unusable(f"{args.data}: {e}")
    if sorted(set(text)) != vocabulary:
        raise Unusable(f"{args.data}: its characters are not the checkpoint's vocabulary of {len(vocabulary)}: "
                       "not the text the run trained on")
    splits = token_splits(text, vocabulary)

    model = GPT(config["vocab"], config["block"], config["width"], config["heads"], config["layers"],
                bias=config["bias"], gelu=args.gelu)
    params = dict(model.named_parameters())  # the tied head appears once, as transformer.wte.weight
    with torch.no_grad():
        for name, array in initial.items():
            value = torch.from_numpy(np.ascontiguousarray(transposed(name, array), dtype=np.float32))
            if torch_name(name) not in params or params[torch_name(name)].shape != value.shape:
                raise Unusable(f"benchmarks/pytorch_gpt.py's GPT has no parameter {torch_name(name)} of shape "
                               f"{list(value.shape)}")
            params.pop(torch_name(name)).copy_(value)
    if params:
        raise Unusable(f"benchmarks/pytorch_gpt.py's GPT has parameters the checkpoint lacks: {sorted(params)}")
    params = dict(model.named_parameters())
    optimizer, _ = make_optimizer(model, torch.device("cpu"), weight_decay=s["weight_decay"],
                                  betas=(s["beta1"], s["beta2"]), eps=s["eps"])
    batch, block, seed, accumulation = s["batch"], s["block"], s["seed"], s["accumulation"]
    evaluation = {split: [wfc_batch(splits[split], batch, block, seed, stream, k) for k in range(s["eval_batches"])]
                  for split, stream in EVAL_STREAMS.items()}

    print(f"{args.checkpoint}: GPT {config['layers']} layers × {config['heads']} heads, width {config['width']}, "
          f"block {config['block']}, vocabulary {config['vocab']}, bias {config['bias']}; seed {seed}, "
          f"{accumulation}×{batch}×{block} tokens per step, iterations 1 to {stop} of {s['iterations']}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), GELU {args.gelu}", flush=True)

    steps, evaluations, worst = [], [], (0.0, 0)
    start = time.perf_counter()
    for it in range(stop):
        for group in optimizer.param_groups:
            group["lr"] = rates[it]
        micro = [wfc_batch(splits["train"], batch, block, seed, TRAIN_STREAM, it * accumulation + m)
                 for m in range(accumulation)]
        loss = accumulate_gradients(model, micro)
        if it == 0:  # wfc's step-1 gradient: the clipped one, unclipped with wfc's own norm
            wfc_norm = metrics[1]["grad_norm"]
            unclip = max(wfc_norm / s["clip"], 1.0) if s["clip"] > 0 else 1.0
            rel = {}
            for name, g in wfc_gradient.items():
                t = transposed(name, params[torch_name(name)].grad.double().numpy())
                rel[name] = float(np.abs(t - g * unclip).max() / max(np.abs(t).max(), 1e-30))
            name, median = max(rel, key=rel.get), float(np.median(list(rel.values())))
            print(f"step 1: loss PyTorch {loss:.8f}, wfc {metrics[1]['loss']:.8f}; gradients: largest "
                  f"max|g_torch - g_wfc| / max|g_torch| {rel[name]:.2e} ({name}), median {median:.2e}", flush=True)
        norm = optimizer_step(model, optimizer, s["clip"])
        w = metrics[it + 1]
        diff = abs(loss - w["loss"])
        diff = diff if math.isfinite(diff) else math.inf
        worst = max(worst, (diff, it + 1))
        steps.append({"iteration": it + 1, "torch_loss": loss, "wfc_loss": w["loss"], "torch_grad_norm": norm,
                      "wfc_grad_norm": w["grad_norm"], "lr": rates[it]})
        if "val_loss" in w or it + 1 == stop:
            e = {"iteration": it + 1, **{f"torch_{k}_loss": mean_loss(model, b) for k, b in evaluation.items()}}
            line = f"iteration {it + 1}: max |Δloss| so far {worst[0]:.2e}"
            for split in ("train", "val"):
                line += f"; {split} PyTorch {e[f'torch_{split}_loss']:.4f}"
                if f"{split}_loss" in w:
                    e[f"wfc_{split}_loss"] = w[f"{split}_loss"]
                    line += f", wfc {w[f'{split}_loss']:.4f}"
            evaluations.append(e)
            print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)

    norm_rel = max(abs(r["torch_grad_norm"] - r["wfc_grad_norm"]) / r["wfc_grad_norm"] for r in steps)
    mean_diff = sum(abs(r["torch_loss"] - r["wfc_loss"]) for r in steps) / len(steps)
    eval_diffs = [abs(e[f"torch_{k}_loss"] - e[f"wfc_{k}_loss"]) for e in evaluations for k in ("train", "val")
                  if f"wfc_{k}_loss" in e]
    print(f"training loss, iterations 1 to {stop}: max |PyTorch - wfc| {worst[0]:.2e} at iteration {worst[1]} "
          f"(mean {mean_diff:.2e}); gradient norm before clipping: max relative difference {norm_rel:.2e}")
    last = evaluations[-1]
    if "wfc_val_loss" in last:
        print(f"final losses on wfc's {s['eval_batches']} evaluation batches per split, iteration {stop}: "
              f"train PyTorch {last['torch_train_loss']:.4f}, wfc {last['wfc_train_loss']:.4f}; "
              f"val PyTorch {last['torch_val_loss']:.4f}, wfc {last['wfc_val_loss']:.4f}")
    else:
        print(f"final losses of PyTorch on wfc's {s['eval_batches']} evaluation batches per split, iteration {stop}: "
              f"train {last['torch_train_loss']:.4f}, val {last['torch_val_loss']:.4f} "
              f"(wfc did not evaluate at iteration {stop})")
    if eval_diffs:
        print(f"evaluation losses: max |PyTorch - wfc| {max(eval_diffs):.2e} over {len(eval_diffs)} comparisons")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"checkpoint": args.checkpoint, "metrics": args.metrics, "config": config, "settings": s,
                       "gelu": args.gelu, "steps": steps, "evaluations": evaluations}, f, indent=1)
            f.write("\n")
    largest = max([worst[0]] + eval_diffs)
    if not largest <= args.tolerance:
        print(f"FAILED: a loss differs by {largest:.2e}, more than --tolerance {args.tolerance:g}", file=sys.stderr)
        if abs(steps[0]["torch_loss"] - steps[0]["wfc_loss"]) > args.tolerance:
            print("(already at iteration 1, from the same weights: unless wfc's forward pass is wrong, the metrics "
                  "file belongs to another run than the checkpoint)", file=sys.stderr)
        return 1
    print(f"OK: every loss within --tolerance {args.tolerance:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
