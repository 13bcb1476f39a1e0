#!/usr/bin/env python3
"""Read a wfc GPT checkpoint with numpy alone and compute its logits.

A wfc checkpoint is a safetensors file: an 8-byte little-endian header length, a JSON header
(each tensor's dtype, shape and byte range, plus "__metadata__" strings), then the data. The
metadata "model" holds the architecture (kind, config, positions) and "tokenizer" the character
vocabulary as Unicode code points. Linear weights are stored [in, out]: y = x @ W + b.

Usage (python3 with numpy; no torch, no safetensors package):

    python3 examples/read_checkpoint.py model.safetensors --text "First Citizen"
    python3 examples/read_checkpoint.py model.safetensors --compare logits.json

The first prints the logits' shape and, for every position, the most likely next character.
With --compare FILE (JSON {"text": ..., "logits": [[...], ...]}, as tests/interop/gpt_logits
writes from the C++ model) it also prints the largest absolute difference between the two and
exits with status 1 if it exceeds --tolerance (1e-4); --text then defaults to the file's text.
A file that is not a readable wfc GPT checkpoint exits with status 2 and says why.

The forward pass mirrors include/wfc/model/gpt.hpp: token embeddings (+ a learned position table,
or rotary positions inside attention), pre-LayerNorm blocks x + attn(ln_1(x)), then
+ mlp(ln_2(.)), a final LayerNorm and a head tied to the token embedding. It computes in float64.
"""
import argparse
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("read_checkpoint.py needs numpy (Debian: apt install python3-numpy; else: pip install numpy)")

DTYPES = {"F64": "<f8", "F32": "<f4", "I64": "<i8", "I32": "<i4", "U8": "u1"}
LAYER_NORM_EPS = 1e-5  # wfc::nn::layer_norm
ROTARY_BASE = 10000.0  # wfc::nn::attention::rotary_base


class CheckpointError(Exception):
    pass


def read_safetensors(path):
    """The metadata strings and the tensors (numpy arrays) of a safetensors file, checked."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise CheckpointError(f"{path}: the file is {len(data)} bytes long, too short for safetensors")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise CheckpointError(f"{path}: the header length says {header_len} bytes but {len(data) - 8} follow: "
                              "the file is truncated or not safetensors")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{path}: the header is not valid JSON ({e})")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    body = data[8 + header_len:]
    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") not in DTYPES:
            raise CheckpointError(f"{path}: tensor '{name}' has dtype {entry.get('dtype')!r}, not one of {sorted(DTYPES)}")
        dtype, shape = np.dtype(DTYPES[entry["dtype"]]), tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= len(body):
            raise CheckpointError(f"{path}: tensor '{name}' has data_offsets [{begin}, {end}) outside the {len(body)} "
                                  "bytes of data (truncated file?)")
        if end - begin != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise CheckpointError(f"{path}: tensor '{name}' of shape {list(shape)} does not fill data_offsets [{begin}, {end})")
        tensors[name] = np.frombuffer(memoryview(body)[begin:end], dtype).reshape(shape)
    return metadata, tensors


def expected_shapes(config, positions):
    """Every parameter of the GPT and its shape, as the C++ model's layout names them."""
    v, b, d, layers, bias = config["vocab"], config["block"], config["width"], config["layers"], config["bias"]
    shapes = {"wte.weight": (v, d)}
    if positions == "learned":
        shapes["wpe.weight"] = (b, d)
    linears = {"attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d), "mlp.c_fc": (d, 4 * d), "mlp.c_proj": (4 * d, d)}
    for l in range(layers):
        for norm in ("ln_1", "ln_2"):
            shapes[f"h.{l}.{norm}.weight"] = (d,)
            if bias:
                shapes[f"h.{l}.{norm}.bias"] = (d,)
        for name, (n_in, n_out) in linears.items():
            shapes[f"h.{l}.{name}.weight"] = (n_in, n_out)
            if bias:
                shapes[f"h.{l}.{name}.bias"] = (n_out,)
    shapes["ln_f.weight"] = (d,)
    if bias:
        shapes["ln_f.bias"] = (d,)
    return shapes


def load_gpt(path):
    """(config, positions, vocabulary, parameters as float64 arrays) of a wfc GPT checkpoint."""
    metadata, tensors = read_safetensors(path)
    if metadata.get("format") != "wfc-checkpoint":
        raise CheckpointError(f"{path}: not a wfc checkpoint (no \"format\": \"wfc-checkpoint\" in its metadata)")
    if metadata.get("format_version") != "1":
        raise CheckpointError(f"{path}: checkpoint format version {metadata.get('format_version')!r}; this script reads 1")
    try:
        model, tokenizer = json.loads(metadata["model"]), json.loads(metadata["tokenizer"])
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: the metadata's model or tokenizer is missing or not JSON ({e})")
    if model.get("kind") != "gpt":
        raise CheckpointError(f"{path}: it holds a {model.get('kind')!r} model; this script supports GPT checkpoints only")
    config, positions = model["config"], model["positions"]
    if positions not in ("learned", "rotary"):
        raise CheckpointError(f"{path}: unknown positions {positions!r} (learned or rotary)")
    vocabulary = [chr(c) for c in tokenizer["vocabulary"]]
    if len(vocabulary) != config["vocab"]:
        raise CheckpointError(f"{path}: the tokenizer has {len(vocabulary)} characters but the model {config['vocab']}")
    params = {}
    for name, shape in expected_shapes(config, positions).items():
        if name not in tensors:
            raise CheckpointError(f"{path}: the tensor '{name}' is missing")
        if tensors[name].shape != shape:
            raise CheckpointError(f"{path}: tensor '{name}' has shape {list(tensors[name].shape)}, expected {list(shape)}")
        params[name] = tensors[name].astype(np.float64)
    return config, positions, vocabulary, params


def encode(text, vocabulary):
    index = {c: i for i, c in enumerate(vocabulary)}
    for i, c in enumerate(text):
        if c not in index:
            raise CheckpointError(f"unknown character {c!r} (U+{ord(c):04X}) at position {i}: "
                                  f"the model's vocabulary has {len(vocabulary)} characters")
    return np.array([index[c] for c in text], dtype=np.int64)


def layer_norm(x, p, name):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)  # biased, as PyTorch
    y = (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * p[name + ".weight"]
    return y + p[name + ".bias"] if name + ".bias" in p else y


def linear(x, p, name):
    y = x @ p[name + ".weight"]  # stored [in, out]
    return y + p[name + ".bias"] if name + ".bias" in p else y


def gelu(x):  # the tanh approximation, as GPT-2
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def rotate(x, positions):
    """RoPE in the "rotate half" layout on x [heads, T, dh]: features i and i + dh/2 turn together
    by the angle position * base^(-2i/dh)."""
    half = x.shape[-1] // 2
    angle = positions[:, None] * ROTARY_BASE ** (-2.0 * np.arange(half) / x.shape[-1])  # [T, half]
    cos, sin = np.cos(angle), np.sin(angle)
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def attention(x, p, name, heads, rotary):
    T, d = x.shape
    dh = d // heads
    qkv = linear(x, p, name + ".c_attn")  # [T, 3d]: q | k | v, each split into heads of dh features
    q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, heads, dh).transpose(1, 0, 2) for i in range(3))
    if rotary:
        positions = np.arange(T, dtype=np.float64)
        q, k = rotate(q, positions), rotate(k, positions)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(dh)  # [heads, T, T]
    scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)  # causal
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    y = (probs @ v).transpose(1, 0, 2).reshape(T, d)
    return linear(y, p, name + ".c_proj")


def gpt_logits(config, positions, params, ids):
    """The logits [T, vocab] of every position of one sequence."""
    T = len(ids)
    if not 0 < T <= config["block"]:
        raise CheckpointError(f"the text has {T} characters; the model reads 1 to {config['block']}")
    x = params["wte.weight"][ids]
    if positions == "learned":
        x = x + params["wpe.weight"][:T]
    for l in range(config["layers"]):
        h = f"h.{l}"
        x = x + attention(layer_norm(x, params, h + ".ln_1"), params, h + ".attn", config["heads"], positions == "rotary")
        x = x + linear(gelu(linear(layer_norm(x, params, h + ".ln_2"), params, h + ".mlp.c_fc")), params, h + ".mlp.c_proj")
    return layer_norm(x, params, "ln_f") @ params["wte.weight"].T  # the head is tied to the token embedding


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a wfc GPT checkpoint (.safetensors)")
    parser.add_argument("--text", help="the prompt (default with --compare: the file's text)")
    parser.add_argument("--compare", metavar="JSON", help='{"text": ..., "logits": [[...], ...]} to compare with')
    parser.add_argument("--tolerance", type=float, default=1e-4, help="the largest absolute difference accepted")
    args = parser.parse_args()
    try:
        expected = None
        if args.compare:
            with open(args.compare, encoding="utf-8") as f:
                expected = json.load(f)
        text = args.text if args.text is not None else expected["text"] if expected else None
        if text is None:
            parser.error("give --text (or --compare with a file that names its text)")
        config, positions, vocabulary, params = load_gpt(args.checkpoint)
        logits = gpt_logits(config, positions, params, encode(text, vocabulary))
    except (CheckpointError, OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print(f"{args.checkpoint}: gpt, {positions} positions, bias {config['bias']}, "
          f"{config['layers']} layers of width {config['width']}, vocabulary {config['vocab']}")
    print(f"logits shape {list(logits.shape)}")
    print("argmax next characters:", repr("".join(vocabulary[i] for i in logits.argmax(-1))))
    if expected is None:
        return 0
    if expected.get("text") != text:
        print(f"error: {args.compare} holds the logits of {expected.get('text')!r}, not of {text!r}", file=sys.stderr)
        return 2
    reference = np.asarray(expected["logits"], dtype=np.float64)
    if reference.shape != logits.shape:
        print(f"error: {args.compare} has logits of shape {list(reference.shape)}, expected {list(logits.shape)}",
              file=sys.stderr)
        return 1
    diff = float(np.abs(reference - logits).max())
    print(f"max abs difference from {args.compare}: {diff:.3g} (tolerance {args.tolerance:g})")
    if not diff <= args.tolerance:
        print("FAILED: the logits differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
