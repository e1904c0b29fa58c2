"""Shared helpers of the device scripts (make_parity_fixtures.py, train_demo.py).

* `spec_forward`: a small PyTorch implementation of SPEC.md section 1 (Mamba-2 block in attention
  form, one chunk), with the grouped gated RMSNorm of mamba_ssm, optional knockout masks and the
  attention matrices M_h. Runs in whatever dtype the parameters have (float64 for references,
  float32 for training).
* Canonical tensor names (src/engine/types.ts) and their HF / state-spaces spellings.
* `byte_level_tokenizer_json`: a tiny gpt-neox-style byte-level BPE tokenizer.json, pure Python.
* `r9`: rounding to 9 significant digits for JSON fixtures.

The torch import is lazy so the pure-Python parts can be tested on machines without torch.
"""
import json
import math
import re


# ---------------------------------------------------------------- names

def canonical_names(n_layer, tied=True):
    names = ["embedding.weight"]
    for i in range(n_layer):
        names.append(f"layers.{i}.norm.weight")
        for k in ("in_proj.weight", "conv1d.weight", "conv1d.bias", "dt_bias", "A_log", "D", "norm.weight", "out_proj.weight"):
            names.append(f"layers.{i}.mixer.{k}")
    names.append("norm_f.weight")
    if not tied:
        names.append("lm_head.weight")
    return names


def to_hf_name(c):
    if c == "lm_head.weight":
        return c
    if c == "embedding.weight":
        return "backbone.embeddings.weight"
    return "backbone." + c


def to_ss_name(c):
    if c == "lm_head.weight":
        return c
    return "backbone." + c


def from_hf_name(k):
    if k == "lm_head.weight":
        return k
    assert k.startswith("backbone."), k
    k = k[len("backbone."):]
    if k == "embeddings.weight":
        return "embedding.weight"
    return k


# ---------------------------------------------------------------- numbers

def r9(x):
    """Round a float (or nested lists of floats) to 9 significant digits."""
    if isinstance(x, (list, tuple)):
        return [r9(v) for v in x]
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    return float(f"{x:.9g}")


def dims(cfg):
    d = cfg["d_model"]
    di = cfg["expand"] * d
    H = di // cfg["headdim"]
    G = cfg["ngroups"]
    S = cfg["d_state"]
    return d, di, H, G, S


# ---------------------------------------------------------------- SPEC section 1

def rms(x, w, eps):
    import torch
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def mixer(p, i, cfg, u, mask=None, want_attn=False, group_norm=True):
    """One Mamba-2 mixer (SPEC section 1 steps 2-9) on the normalised input u [B, N, d].

    mask: [B, N, N] (1 keep, 0 block) multiplying M_h of every head, or None.
    Returns (g [B, N, d_inner] before out_proj, M [B, H, N, N] or None)."""
    import torch
    import torch.nn.functional as F
    d, di, H, G, S = dims(cfg)
    P = cfg["headdim"]
    K = cfg["d_conv"]
    eps = cfg["eps"]
    pre = f"layers.{i}.mixer."
    B_, N, _ = u.shape
    zxbcdt = u @ p[pre + "in_proj.weight"].T
    z, xBC, dt = torch.split(zxbcdt, [di, di + 2 * G * S, H], dim=-1)
    xc = F.pad(xBC.transpose(1, 2), (K - 1, 0))
    xc = F.conv1d(xc, p[pre + "conv1d.weight"], p[pre + "conv1d.bias"], groups=xBC.shape[-1])
    xBC = F.silu(xc.transpose(1, 2))
    xs, Bm, Cm = torch.split(xBC, [di, G * S, G * S], dim=-1)
    xs = xs.reshape(B_, N, H, P)
    Bm = Bm.reshape(B_, N, G, S)
    Cm = Cm.reshape(B_, N, G, S)
    delta = F.softplus(dt + p[pre + "dt_bias"])  # [B, N, H]
    A = -torch.exp(p[pre + "A_log"])  # [H]
    cs = torch.cumsum(delta * A, dim=1)  # [B, N, H]
    seg = cs[:, :, None, :] - cs[:, None, :, :]  # [B, i, j, H]
    causal = torch.ones(N, N, dtype=torch.bool, device=u.device).tril()
    L = torch.exp(seg.masked_fill(~causal[None, :, :, None], float("-inf"))).permute(0, 3, 1, 2)  # [B,H,i,j]
    CB = torch.einsum("bigs,bjgs->bgij", Cm, Bm)  # [B, G, N, N]
    CB = CB.repeat_interleave(H // G, dim=1)  # head h uses group h // (H/G)
    M = L * CB
    if mask is not None:
        M = M * mask[:, None, :, :].to(M.dtype)
    Mdt = M * delta.permute(0, 2, 1)[:, :, None, :]  # [B,H,i,j] * delta[j]
    y = Mdt @ xs.permute(0, 2, 1, 3)  # [B, H, N, P]
    y = y.permute(0, 2, 1, 3) + p[pre + "D"][None, None, :, None] * xs
    g = y.reshape(B_, N, di) * F.silu(z)
    ng = G if group_norm else 1
    g = g.reshape(B_, N, ng, di // ng)
    g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + eps)
    g = g.reshape(B_, N, di) * p[pre + "norm.weight"]
    return g, (M if want_attn else None)


def spec_hidden(p, cfg, ids, masks=None, attn_layers=(), group_norm=True):
    """Runs the model; returns (final hidden [B, N, d] before norm_f, {layer: M})."""
    x = p["embedding.weight"][ids]
    attn = {}
    for i in range(cfg["n_layer"]):
        u = rms(x, p[f"layers.{i}.norm.weight"], cfg["eps"])
        m = None if masks is None else masks.get(i)
        g, M = mixer(p, i, cfg, u, mask=m, want_attn=(i in attn_layers), group_norm=group_norm)
        if M is not None:
            attn[i] = M
        x = x + g @ p[f"layers.{i}.mixer.out_proj.weight"].T
    return x, attn


def spec_head(p, cfg, h):
    w = p["lm_head.weight"] if "lm_head.weight" in p else p["embedding.weight"]
    return rms(h, p["norm_f.weight"], cfg["eps"]) @ w.T


def spec_last_logits(p, cfg, ids, masks=None, attn_layers=(), group_norm=True):
    h, attn = spec_hidden(p, cfg, ids, masks=masks, attn_layers=attn_layers, group_norm=group_norm)
    return spec_head(p, cfg, h[:, -1]), attn


# ---------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


GPT_NEOX_PIPELINE = {
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
}


def _words(text):
    b2u = bytes_to_unicode()
    out = []
    for w in re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", text):
        out.append("".join(b2u[b] for b in w.encode("utf-8")))
    return out


def byte_level_tokenizer_json(sample_text, n_merges, eos="<|endoftext|>"):
    """A gpt-neox-style byte-level BPE tokenizer.json (dict): id 0 = eos (special), ids 1..256 the 256
    byte symbols in byte order, then n_merges merges learnt greedily from sample_text (pure Python)."""
    b2u = bytes_to_unicode()
    vocab = {eos: 0}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    words = {}
    for w in _words(sample_text):
        words[tuple(w)] = words.get(tuple(w), 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if counts[best] < 2:
            break
        merges.append(best)
        vocab["".join(best)] = len(vocab)
        nw = {}
        for w, c in words.items():
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(w[j] + w[j + 1])
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 0, "special": True, "content": eos, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False}],
        **GPT_NEOX_PIPELINE,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "vocab": vocab,
                  "merges": [f"{a} {b}" for a, b in merges]},
    }
    return tok


def normalise_tokenizer_json(tok):
    """Gives a tokenizer.json (dict) produced by HF `tokenizers` the exact gpt-neox pipeline and
    'a b' string merges."""
    tok = dict(tok)
    tok.update(GPT_NEOX_PIPELINE)
    model = dict(tok["model"])
    model["merges"] = [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in model["merges"]]
    for k in ("ignore_merges", "byte_fallback"):
        model.pop(k, None)
    tok["model"] = model
    return tok


def dump_json(obj, path, indent=None):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, separators=(",", ":") if indent is None else None)
        f.write("\n")
