#!/usr/bin/env python3
"""The GPT baseline in PyTorch, nanoGPT's architecture, timed as bench_model times wfc's.

    python3 benchmarks/pytorch_gpt.py                      # nanoGPT's GPU shape, cuda if available
    python3 benchmarks/pytorch_gpt.py --layers 4 --heads 4 --width 128 --block 64 --batch 12 --device cpu --threads 1

The model is nanoGPT's (model.py) with its shakespeare_char settings, but no dropout (wfc has
none): learned position embeddings, pre-LayerNorm blocks without biases, exact GELU, causal
attention (torch's scaled_dot_product_attention, as nanoGPT uses when it can; on torch 1.x, which
lacks it, nanoGPT's explicit masked softmax), a final
LayerNorm and a head tied to the token embedding; weights N(0, 0.02), residual projections
N(0, 0.02/sqrt(2 layers)). One training iteration is what nanoGPT's train.py does per step: the
forward pass with the cross-entropy loss, backward, gradients clipped to a global norm of 1.0,
AdamW (betas 0.9/0.99, weight decay 0.1 on the 2-D weights only, fused on CUDA), zero_grad.
Random tokens stand in for the data. Each timed iteration ends with a device synchronisation (as
nanoGPT's loss.item() does); warm-up iterations come first and are not timed.

Sampling: batch 1, --sample-tokens new tokens after a one-token prompt, temperature 1, the way
nanoGPT's generate() does it: the whole (cropped) context goes through the model for every new
token (no key/value cache), so compare it with wfc's sample_recompute, not sample_cached.

Default arithmetic: float32 without TF32, as wfc computes. --dtype bfloat16 runs the forward pass
under bf16 autocast (nanoGPT's default on a GPU), --tf32 allows TF32 matrix products, --compile
uses torch.compile (nanoGPT's default; its compilation time is not counted). On the CPU, torch's
matrix products go through its BLAS: Debian's python3-torch uses the system libblas.so.3, the
reference BLAS unless OpenBLAS (libopenblas0) is installed, about 15 times slower at this size.

Prints one JSON document (and writes it to --out when given).
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

    def __init__(self, width, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads, bias):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(width, 3 * width, bias=bias)
        self.c_proj = nn.Linear(width, width, bias=bias)

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
        else:  # torch 1.x: nanoGPT's explicit causal softmax attention
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            att = F.softmax(att.masked_fill(~causal, float("-inf")), dim=-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, width, bias, gelu="exact"):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width, bias=bias)
        # "exact" (erf), as nanoGPT; "tanh", GPT-2's approximation, as wfc computes it
        self.gelu = nn.GELU() if gelu == "exact" else nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * width, width, bias=bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, width, heads, bias, gelu="exact"):
        super().__init__()
        self.ln_1 = LayerNorm(width, bias)
        self.attn = CausalSelfAttention(width, heads, bias)
        self.ln_2 = LayerNorm(width, bias)
        self.mlp = MLP(width, bias, gelu)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab, block, width, heads, layers, bias=False, gelu="exact"):
        super().__init__()
        if gelu not in ("exact", "tanh"):
            raise ValueError(f"gelu must be 'exact' or 'tanh', not {gelu!r}")
        self.block = block
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, width),
            wpe=nn.Embedding(block, width),
            h=nn.ModuleList([Block(width, heads, bias, gelu) for _ in range(layers)]),
            ln_f=LayerNorm(width, bias),
        ))
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:  # inference: the last position's logits only, as nanoGPT
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


def make_optimizer(model, device, weight_decay=0.1, betas=(0.9, 0.99), eps=1e-8):
    """nanoGPT's AdamW (shakespeare_char's betas): weight decay on the 2-D weights only."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=1e-3, betas=tuple(betas), eps=eps, **extra), bool(extra)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--width", type=int, default=384)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=65)
    ap.add_argument("--iters", type=int, default=10, help="timed training iterations")
    ap.add_argument("--warmup", type=int, default=3, help="untimed training iterations before them")
    ap.add_argument("--sample-tokens", type=int, default=256, help="tokens sampled at batch 1 (0: no sampling)")
    ap.add_argument("--device", default=None, help="cuda, cuda:N or cpu (default: cuda if available)")
    ap.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                    help="bfloat16: forward under bf16 autocast (nanoGPT's GPU default)")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 matrix products (default: true float32)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (compilation not timed)")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compile and not hasattr(torch, "compile"):
        ap.error(f"--compile needs torch >= 2.0 (this is {torch.__version__})")

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    if hasattr(torch, "set_float32_matmul_precision"):  # torch >= 1.12
        torch.set_float32_matmul_precision("high" if args.tf32 else "highest")  # "highest": no TF32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    if device.type == "cuda":
        torch.cuda.set_device(device)

    model = GPT(args.vocab, args.block, args.width, args.heads, args.layers).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer, fused = make_optimizer(model, device)
    run = torch.compile(model) if args.compile else model
    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if args.dtype == "bfloat16"
                else torch.autocast(device_type=device.type, enabled=False))

    gen = torch.Generator(device=device).manual_seed(args.seed)
    x = torch.randint(0, args.vocab, (args.batch, args.block), device=device, generator=gen)
    y = torch.randint(0, args.vocab, (args.batch, args.block), device=device, generator=gen)

    def step():
        with autocast:
            _, loss = run(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    model.train()
    start = time.perf_counter()
    for _ in range(args.warmup):
        step()
    synchronize(device)
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        loss = step()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    tokens = args.batch * args.block

    result = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "device": device.type if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "config": {"layers": args.layers, "heads": args.heads, "width": args.width, "block": args.block,
                   "batch": args.batch, "vocab": args.vocab},
        "parameters": parameters,
        "dtype": args.dtype,
        "tf32": args.tf32,
        "compiled": args.compile,
        "fused_adamw": fused,
        "train_iteration": {
            "iters": len(times),
            "warmup": args.warmup,
            "warmup_s": warmup_s,
            "ms_mean": 1e3 * statistics.fmean(times) if times else None,
            "ms_median": 1e3 * statistics.median(times) if times else None,
            "ms_min": 1e3 * min(times) if times else None,
            "tokens_per_s": tokens / statistics.median(times) if times else None,
            "last_loss": float(loss.item()) if times else None,
        },
    }
    if device.type == "cuda":
        result["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated(device) / 2**30

    if args.sample_tokens > 0:
        model.eval()

        @torch.no_grad()
        def sample(count):
            idx = torch.zeros((1, 1), dtype=torch.long, device=device)
            for _ in range(count):
                cond = idx if idx.size(1) <= args.block else idx[:, -args.block:]
                with autocast:
                    logits, _ = run(cond)
                probs = F.softmax(logits[:, -1, :].float(), dim=-1)
                idx = torch.cat((idx, torch.multinomial(probs, num_samples=1, generator=gen)), dim=1)
            return idx

        sample(min(16, args.sample_tokens))  # warm-up
        synchronize(device)
        t0 = time.perf_counter()
        sample(args.sample_tokens)
        synchronize(device)
        elapsed = time.perf_counter() - t0
        result["sample_recompute"] = {
            "tokens": args.sample_tokens,
            "batch": 1,
            "seconds": elapsed,
            "tokens_per_s": args.sample_tokens / elapsed,
            "note": "nanoGPT's generate(): the whole cropped context through the model for every token, "
                    "no key/value cache (compare with wfc's sample_recompute)",
        }

    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
