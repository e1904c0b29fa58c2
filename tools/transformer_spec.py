#!/usr/bin/env python3
"""SPEC section 7 (GPT-2 and GPT-NeoX / Pythia) in PyTorch, with attention knockout.

Used by make_transformer_fixtures.py (float64 references, cross-checked with transformers' GPT2LMHeadModel and
GPTNeoXForCausalLM in eager attention) and train_demo_transformer.py (float32 training of the GPT-NeoX demo).

* `spec_last_logits(p, cfg, ids, masks=None, units=None)`: the model on ids [B, N] with per-layer edge
  knockouts. `masks` maps a layer to a [B, N, N] tensor (1 keep, 0 block) of (row <- column) edges; blocking
  (r <- c) sets the PRE-SOFTMAX score of (r, c) to -inf in every head (or, with `units` mapping the layer to a
  [B, H] tensor, only in the heads where it is 1), so the row is renormalised over the remaining sources; a row
  whose every source is blocked attends to nothing (its attention output is 0).
* `attn_layers` returns the softmax probabilities [B, H, N, N] of those layers.
* Rotary angles and their cos / sin are computed in float32, as transformers does even for a float64 model
  (GPTNeoXRotaryEmbedding); the engine uses the same float32 tables.

cfg keys: arch ("gpt2" | "gptneox"), d_model, n_layer, n_head, d_ff, vocab_size (the real vocabulary),
padded_vocab (embedding rows), n_positions (GPT-2 wpe rows), eps, tied, act ("gelu_new" | "gelu"),
rotary_pct, rotary_base, parallel (NeoX use_parallel_residual).
Canonical tensor names (the engine's): see CANONICAL below.
"""
import math

import torch


def canonical_names(cfg):
    names = ["embedding.weight"]
    if cfg["arch"] == "gpt2":
        names.append("position.weight")
        per = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
               "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
               "mlp.c_proj.weight", "mlp.c_proj.bias"]
    else:
        per = ["input_layernorm.weight", "input_layernorm.bias", "post_attention_layernorm.weight",
               "post_attention_layernorm.bias", "attention.query_key_value.weight", "attention.query_key_value.bias",
               "attention.dense.weight", "attention.dense.bias", "mlp.dense_h_to_4h.weight", "mlp.dense_h_to_4h.bias",
               "mlp.dense_4h_to_h.weight", "mlp.dense_4h_to_h.bias"]
    for i in range(cfg["n_layer"]):
        names += [f"layers.{i}.{k}" for k in per]
    names += ["norm_f.weight", "norm_f.bias"]
    if not cfg["tied"]:
        names.append("lm_head.weight")
    return names


def to_hf_name(k, cfg, prefix=True):
    """canonical -> transformers key (GPT-2: 'transformer.' prefix unless prefix=False, as openai-community's files)."""
    if cfg["arch"] == "gpt2":
        pre = "transformer." if prefix else ""
        if k == "embedding.weight":
            return pre + "wte.weight"
        if k == "position.weight":
            return pre + "wpe.weight"
        if k.startswith("norm_f."):
            return pre + "ln_f." + k.split(".", 1)[1]
        if k == "lm_head.weight":
            return k
        return pre + "h." + k[len("layers."):]
    if k == "embedding.weight":
        return "gpt_neox.embed_in.weight"
    if k.startswith("norm_f."):
        return "gpt_neox.final_layer_norm." + k.split(".", 1)[1]
    if k == "lm_head.weight":
        return "embed_out.weight"
    return "gpt_neox." + k


def shapes(cfg):
    d, F, V = cfg["d_model"], cfg["d_ff"], cfg["padded_vocab"]
    s = {"embedding.weight": [V, d], "norm_f.weight": [d], "norm_f.bias": [d], "lm_head.weight": [V, d]}
    if cfg["arch"] == "gpt2":
        s["position.weight"] = [cfg["n_positions"], d]
        per = {"ln_1.weight": [d], "ln_1.bias": [d], "attn.c_attn.weight": [d, 3 * d], "attn.c_attn.bias": [3 * d],
               "attn.c_proj.weight": [d, d], "attn.c_proj.bias": [d], "ln_2.weight": [d], "ln_2.bias": [d],
               "mlp.c_fc.weight": [d, F], "mlp.c_fc.bias": [F], "mlp.c_proj.weight": [F, d], "mlp.c_proj.bias": [d]}
    else:
        per = {"input_layernorm.weight": [d], "input_layernorm.bias": [d], "post_attention_layernorm.weight": [d],
               "post_attention_layernorm.bias": [d], "attention.query_key_value.weight": [3 * d, d],
               "attention.query_key_value.bias": [3 * d], "attention.dense.weight": [d, d], "attention.dense.bias": [d],
               "mlp.dense_h_to_4h.weight": [F, d], "mlp.dense_h_to_4h.bias": [F], "mlp.dense_4h_to_h.weight": [d, F],
               "mlp.dense_4h_to_h.bias": [d]}
    for i in range(cfg["n_layer"]):
        for k, v in per.items():
            s[f"layers.{i}.{k}"] = v
    return {k: s[k] for k in canonical_names(cfg)}


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def act(x, kind):
    if kind == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def rotary_tables(cfg, n, dtype, device):
    """cos, sin [n, rd] (rotate-half layout: the rd/2 frequencies twice); angles rounded to float32 like HF."""
    hd = cfg["d_model"] // cfg["n_head"]
    rd = int(hd * cfg["rotary_pct"])
    inv = 1.0 / (cfg["rotary_base"] ** (torch.arange(0, rd, 2, dtype=torch.int64).float() / rd))  # float32, as HF
    t = torch.arange(n, dtype=torch.float32)
    ang = torch.outer(t, inv)  # float32 product, as HF
    emb = torch.cat([ang, ang], -1)
    # cos / sin in float32 too, as HF (then widened): the engine's float32 tables hold the same values
    return emb.cos().to(dtype=dtype, device=device), emb.sin().to(dtype=dtype, device=device), rd


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def attention(q, k, v, keep=None, unit=None):
    """q, k, v [B, H, N, hd]; keep [B, N, N] (1 keep); unit [B, H] (1: the knockout applies in the head).
    Returns the output [B, H, N, hd] and the probabilities [B, H, N, N]."""
    B, H, N, hd = q.shape
    s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    allowed = torch.ones(N, N, dtype=torch.bool, device=q.device).tril()[None, None].expand(B, H, N, N)
    if keep is not None:
        cut = (keep == 0)[:, None].expand(B, H, N, N)
        if unit is not None:
            cut = cut & (unit != 0)[:, :, None, None]
        allowed = allowed & ~cut
    s = s.masked_fill(~allowed, float("-inf"))
    m = s.amax(-1, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    e = torch.exp(s - m) * allowed
    z = e.sum(-1, keepdim=True)
    p = torch.where(z > 0, e / torch.where(z > 0, z, torch.ones_like(z)), torch.zeros_like(e))
    return p @ v, p


def spec_hidden(p, cfg, ids, masks=None, units=None, attn_layers=(), out_scales=None):
    """Residual after the last layer [B, N, d] and {layer: probabilities [B, H, N, N]}."""
    B, N = ids.shape
    d, H = cfg["d_model"], cfg["n_head"]
    hd = d // H
    x = p["embedding.weight"][ids]
    if cfg["arch"] == "gpt2":
        x = x + p["position.weight"][:N][None]
    else:
        cos, sin, rd = rotary_tables(cfg, N, x.dtype, x.device)
    att = {}
    heads = lambda t: t.view(B, N, H, hd).transpose(1, 2)  # noqa: E731
    for i in range(cfg["n_layer"]):
        pre = f"layers.{i}."
        keep = masks.get(i) if masks else None
        unit = units.get(i) if units else None
        if cfg["arch"] == "gpt2":
            h = layer_norm(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], cfg["eps"])
            qkv = h @ p[pre + "attn.c_attn.weight"] + p[pre + "attn.c_attn.bias"]
            q, k, v = (heads(t) for t in qkv.split(d, -1))
            o, pr = attention(q, k, v, keep, unit)
            a = o.transpose(1, 2).reshape(B, N, d) @ p[pre + "attn.c_proj.weight"] + p[pre + "attn.c_proj.bias"]
            if out_scales and i in out_scales:
                a = a * out_scales[i]
            x = x + a
            h2 = layer_norm(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], cfg["eps"])
            x = x + act(h2 @ p[pre + "mlp.c_fc.weight"] + p[pre + "mlp.c_fc.bias"], cfg["act"]) @ p[pre + "mlp.c_proj.weight"] + p[pre + "mlp.c_proj.bias"]
        else:
            h = layer_norm(x, p[pre + "input_layernorm.weight"], p[pre + "input_layernorm.bias"], cfg["eps"])
            qkv = (h @ p[pre + "attention.query_key_value.weight"].T + p[pre + "attention.query_key_value.bias"])
            qkv = qkv.view(B, N, H, 3 * hd).transpose(1, 2)
            q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
            if rd > 0:
                def rot(t):
                    r, rest = t[..., :rd], t[..., rd:]
                    return torch.cat([r * cos + rotate_half(r) * sin, rest], -1)
                q, k = rot(q), rot(k)
            o, pr = attention(q, k, v, keep, unit)
            a = o.transpose(1, 2).reshape(B, N, d) @ p[pre + "attention.dense.weight"].T + p[pre + "attention.dense.bias"]
            if out_scales and i in out_scales:
                a = a * out_scales[i]

            def mlp(t):
                u = layer_norm(t, p[pre + "post_attention_layernorm.weight"], p[pre + "post_attention_layernorm.bias"], cfg["eps"])
                return act(u @ p[pre + "mlp.dense_h_to_4h.weight"].T + p[pre + "mlp.dense_h_to_4h.bias"], cfg["act"]) @ p[pre + "mlp.dense_4h_to_h.weight"].T + p[pre + "mlp.dense_4h_to_h.bias"]
            if cfg["parallel"]:
                x = x + a + mlp(x)
            else:
                x = x + a
                x = x + mlp(x)
        if i in attn_layers:
            att[i] = pr
    return x, att


def spec_head(p, cfg, h):
    u = layer_norm(h, p["norm_f.weight"], p["norm_f.bias"], cfg["eps"])
    return u @ p["embedding.weight" if cfg["tied"] else "lm_head.weight"].T


def spec_last_logits(p, cfg, ids, masks=None, units=None, attn_layers=(), out_scales=None):
    h, att = spec_hidden(p, cfg, ids, masks, units, attn_layers, out_scales)
    return spec_head(p, cfg, h[:, -1]), att


def real_probs(logits, vocab_size):
    return torch.softmax(logits[..., :vocab_size], -1)
