#!/usr/bin/env python3
"""SPEC section 2 (Mamba-1 and Falcon-Mamba, selective scan in attention form) in PyTorch.

Used by make_mamba1_fixtures.py (float64 references) and train_demo_mamba1.py (float32 training).

* `spec_hidden` / `spec_last_logits`: the model with per-layer edge knockouts. `masks` maps a layer to a
  [B, N, N] tensor (1 keep, 0 block) of (row <- column) edges; a blocked edge sets alpha_c[r, c] = 0 for
  every channel c and (since alpha sums over them) every state entry n (SPEC section 2, ZERO_ATTENTION).
  conv1d, the D skip and the gate are untouched, unless `conv_block` is true ("complete knockout", SPEC
  section 8): then for each blocked edge (r <- c) with r-(K-1) <= c <= r the conv1d tap k = c - r + K - 1
  (tap k multiplies input t-(K-1)+k) is zeroed in the conv of output row r, all channels, in that layer.
* `alpha`: alpha_c[i, j] = sum_n C_i[n] exp(sum_{k=j+1..i} Delta_k[c] A[c, n]) Delta_j[c] B_j[n] (j <= i),
  returned as [B, d_inner, N, N] for the layers in `attn_layers`.
* `mode="scan"`: the same maths by the sequential recurrence (no knockouts), for training.
* `scan_last_knock_logits`: an independent implementation of the last-row knockout by the recurrence
  (drops the source terms of the blocked columns from the last row's state), used by `selftest`.
* `selftest` (python3 mamba1_spec.py): compares with transformers' MambaForCausalLM and
  FalconMambaForCausalLM (torch slow path, CPU, float32) and checks the knockout implementations.

Config dict (cfg) keys: d_model, n_layer, d_state, expand, d_conv, dt_rank, eps, vocab_size (the real
vocabulary; probabilities are softmax over its first rows, SPEC section 8), padded_vocab (embedding rows),
tied, variant ("mamba" | "falcon_mamba"), mixer_rms_eps (Falcon-Mamba only).
Canonical tensor names: embedding.weight, layers.{i}.norm.weight, layers.{i}.mixer.{in_proj.weight,
conv1d.weight, conv1d.bias, x_proj.weight, dt_proj.weight, dt_proj.bias, A_log, D, out_proj.weight},
norm_f.weight, lm_head.weight (untied only).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mamba2_spec import r9, dump_json, to_hf_name, to_ss_name, from_hf_name  # noqa: E402,F401

MIXER_KEYS = ("in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight", "dt_proj.bias",
              "A_log", "D", "out_proj.weight")


def canonical_names(n_layer, tied=True):
    names = ["embedding.weight"]
    for i in range(n_layer):
        names.append(f"layers.{i}.norm.weight")
        names += [f"layers.{i}.mixer.{k}" for k in MIXER_KEYS]
    names.append("norm_f.weight")
    if not tied:
        names.append("lm_head.weight")
    return names


def from_ss_name(k):
    if k == "lm_head.weight":
        return k
    assert k.startswith("backbone."), k
    return k[len("backbone."):]


def auto_dt_rank(d_model):
    return math.ceil(d_model / 16)


def dims(cfg):
    d = cfg["d_model"]
    di = cfg["expand"] * d
    return d, di, cfg["d_state"], cfg["dt_rank"], cfg["d_conv"]


# ---------------------------------------------------------------- building blocks

def rms(x, w, eps):
    import torch
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rms_noweight(x, eps):
    import torch
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def conv_tap_mask(mask, K):
    """[B, N, N] edge mask (1 keep) -> [B, N, K] conv tap mask: tap k of output row r carries input
    c = r - (K-1) + k; it is zeroed where (r <- c) is blocked (c >= 0)."""
    import torch
    Bn, N, _ = mask.shape
    tm = torch.ones(Bn, N, K, dtype=mask.dtype, device=mask.device)
    for k in range(K):
        off = k - (K - 1)  # c = r + off
        r0 = max(0, -off)
        if r0 >= N:
            continue
        r = torch.arange(r0, N, device=mask.device)
        tm[:, r0:, k] = mask[:, r, r + off]
    return tm


def causal_conv(x, w, b, tap_mask=None):
    """Depthwise causal conv1d, left padding K-1. x [B, N, D], w [D, 1, K], b [D]; tap_mask [B, N, K]."""
    import torch
    import torch.nn.functional as F
    K = w.shape[-1]
    xp = F.pad(x, (0, 0, K - 1, 0))  # pad the time axis
    win = xp.unfold(1, K, 1)  # [B, N, D, K]; win[..., k] = x[t-(K-1)+k]
    if tap_mask is not None:
        win = win * tap_mask[:, :, None, :].to(win.dtype)
    return torch.einsum("bndk,dk->bnd", win, w[:, 0, :]) + b


def ssm_inputs(p, i, cfg, u, tap_mask=None):
    """Steps 2-5: returns x (after conv + SiLU) [B,N,D], z [B,N,D], delta [B,N,D], A [D,S], Bm, Cm [B,N,S]."""
    import torch
    import torch.nn.functional as F
    d, di, S, R, K = dims(cfg)
    pre = f"layers.{i}.mixer."
    xz = u @ p[pre + "in_proj.weight"].T
    x, z = torch.split(xz, [di, di], dim=-1)
    x = F.silu(causal_conv(x, p[pre + "conv1d.weight"], p[pre + "conv1d.bias"], tap_mask))
    dbc = x @ p[pre + "x_proj.weight"].T
    dt, Bm, Cm = torch.split(dbc, [R, S, S], dim=-1)
    if cfg.get("variant", "mamba") == "falcon_mamba":
        e = cfg["mixer_rms_eps"]
        dt, Bm, Cm = rms_noweight(dt, e), rms_noweight(Bm, e), rms_noweight(Cm, e)
    delta = F.softplus(dt @ p[pre + "dt_proj.weight"].T + p[pre + "dt_proj.bias"])
    A = -torch.exp(p[pre + "A_log"])
    return x, z, delta, A, Bm, Cm


def alpha(delta, A, Bm, Cm):
    """alpha [B, D, N, N] of SPEC section 2.6."""
    import torch
    N = delta.shape[1]
    cs = torch.cumsum(delta[..., None] * A, dim=1)  # [B, N, D, S]
    seg = cs[:, :, None] - cs[:, None, :]  # [B, i, j, D, S] = sum_{k=j+1..i}
    causal = torch.ones(N, N, dtype=torch.bool, device=delta.device).tril()
    L = torch.exp(seg.masked_fill(~causal[None, :, :, None, None], float("-inf")))
    return torch.einsum("bin,bijdn,bjd,bjn->bdij", Cm, L, delta, Bm)


def mixer(p, i, cfg, u, mask=None, conv_block=False, want_alpha=False, mode="attention"):
    """One Mamba-1 mixer on the normalised input u [B, N, d]; returns (out [B, N, d], alpha or None)."""
    import torch
    import torch.nn.functional as F
    K = cfg["d_conv"]
    pre = f"layers.{i}.mixer."
    tap = conv_tap_mask(mask, K) if (mask is not None and conv_block) else None
    x, z, delta, A, Bm, Cm = ssm_inputs(p, i, cfg, u, tap)
    al = None
    if mode == "scan":
        assert mask is None and not want_alpha
        N = x.shape[1]
        dA = torch.exp(delta[..., None] * A)  # [B, N, D, S]
        dBx = (delta * x)[..., None] * Bm[:, :, None, :]  # [B, N, D, S]
        h = dBx[:, 0]
        hs = [h]
        for t in range(1, N):
            h = dA[:, t] * h + dBx[:, t]
            hs.append(h)
        y = torch.einsum("bnds,bns->bnd", torch.stack(hs, dim=1), Cm)
    else:
        al = alpha(delta, A, Bm, Cm)
        if mask is not None:
            al = al * mask[:, None, :, :].to(al.dtype)
        y = torch.einsum("bdij,bjd->bid", al, x)
    y = y + p[pre + "D"] * x
    out = (y * F.silu(z)) @ p[pre + "out_proj.weight"].T
    return out, (al if want_alpha else None)


def spec_hidden(p, cfg, ids, masks=None, conv_block=False, attn_layers=(), mode="attention"):
    """Runs the model; returns (final hidden [B, N, d] before norm_f, {layer: alpha [B, D, N, N]}).
    conv_block: bool (all masked layers) or a set of layers."""
    x = p["embedding.weight"][ids]
    attn = {}
    for i in range(cfg["n_layer"]):
        u = rms(x, p[f"layers.{i}.norm.weight"], cfg["eps"])
        m = None if masks is None else masks.get(i)
        cb = (i in conv_block) if isinstance(conv_block, (set, list, tuple, frozenset)) else bool(conv_block)
        out, al = mixer(p, i, cfg, u, mask=m, conv_block=cb, want_alpha=(i in attn_layers), mode=mode)
        if al is not None:
            attn[i] = al
        x = x + out
    return x, attn


def spec_head(p, cfg, h):
    """Logits over all padded_vocab rows (tied head unless lm_head.weight is present)."""
    w = p["lm_head.weight"] if "lm_head.weight" in p else p["embedding.weight"]
    return rms(h, p["norm_f.weight"], cfg["eps"]) @ w.T


def spec_last_logits(p, cfg, ids, masks=None, conv_block=False, attn_layers=(), mode="attention"):
    h, attn = spec_hidden(p, cfg, ids, masks=masks, conv_block=conv_block, attn_layers=attn_layers, mode=mode)
    return spec_head(p, cfg, h[:, -1]), attn


def real_probs(logits, vocab_size):
    """Softmax over the first vocab_size rows (SPEC section 8)."""
    import torch
    return torch.softmax(logits[..., :vocab_size], dim=-1)


def last_row_masks(N, layers, cols, device, dtype=None, batch=1):
    """{layer: [batch, N, N]} blocking (N-1 <- c) for c in cols."""
    import torch
    m = torch.ones(batch, N, N, dtype=dtype or torch.float64, device=device)
    for c in cols:
        m[:, N - 1, c] = 0.0
    return {l: m for l in layers}


# ---------------------------------------------------------------- independent last-row knockout (recurrence)

def scan_last_knock_logits(p, cfg, ids, layers, cols, conv_block=False):
    """Last-position logits with (last <- c), c in cols, blocked in `layers`, computed by the recurrence:
    earlier rows by the ordinary scan; the last row's state drops the source terms Delta_c B_c x_c of the
    blocked columns; with conv_block its conv taps on the blocked columns are zeroed. ids [1, N]."""
    import torch
    import torch.nn.functional as F
    d, di, S, R, K = dims(cfg)
    N = ids.shape[1]
    cols = set(cols)
    x = p["embedding.weight"][ids]
    for i in range(cfg["n_layer"]):
        pre = f"layers.{i}.mixer."
        u = rms(x, p[f"layers.{i}.norm.weight"], cfg["eps"])
        out, _ = mixer(p, i, cfg, u, mode="scan")  # rows < N-1 are exact (causal)
        if i in layers:
            # last row by hand
            xz = u @ p[pre + "in_proj.weight"].T
            xr, z = torch.split(xz, [di, di], dim=-1)
            w = p[pre + "conv1d.weight"][:, 0, :]
            conv = p[pre + "conv1d.bias"].clone()
            for k in range(K):
                c = N - 1 - (K - 1) + k
                if c < 0 or (conv_block and c in cols):
                    continue
                conv = conv + w[:, k] * xr[0, c]
            xs = F.silu(causal_conv(xr, p[pre + "conv1d.weight"], p[pre + "conv1d.bias"]))[0]  # clean rows
            xs = torch.cat([xs[:-1], F.silu(conv)[None]], 0)
            dbc = xs @ p[pre + "x_proj.weight"].T
            dt, Bm, Cm = torch.split(dbc, [R, S, S], dim=-1)
            if cfg.get("variant", "mamba") == "falcon_mamba":
                e = cfg["mixer_rms_eps"]
                dt, Bm, Cm = rms_noweight(dt, e), rms_noweight(Bm, e), rms_noweight(Cm, e)
            delta = F.softplus(dt @ p[pre + "dt_proj.weight"].T + p[pre + "dt_proj.bias"])
            A = -torch.exp(p[pre + "A_log"])
            h = torch.zeros(di, S, dtype=x.dtype, device=x.device)
            for t in range(N):
                h = torch.exp(delta[t, :, None] * A) * h
                if t not in cols:
                    h = h + (delta[t] * xs[t])[:, None] * Bm[t][None, :]
            y = (h * Cm[N - 1][None, :]).sum(-1) + p[pre + "D"] * xs[N - 1]
            o_last = (y * F.silu(z[0, N - 1])) @ p[pre + "out_proj.weight"].T
            out = torch.cat([out[:, :-1], o_last[None, None]], 1)
        x = x + out
    return spec_head(p, cfg, x[:, -1])


# ---------------------------------------------------------------- transformers

def hf_config(cfg, torch_dtype=None):
    """transformers MambaConfig / FalconMambaConfig for cfg (vocab_size = padded rows)."""
    d, di, S, R, K = dims(cfg)
    kw = dict(vocab_size=cfg["padded_vocab"], hidden_size=d, state_size=S, num_hidden_layers=cfg["n_layer"],
              layer_norm_epsilon=cfg["eps"], pad_token_id=0, bos_token_id=0, eos_token_id=0, expand=cfg["expand"],
              conv_kernel=K, use_bias=False, use_conv_bias=True, hidden_act="silu", residual_in_fp32=True,
              time_step_rank=cfg.get("hf_time_step_rank", R), use_mambapy=False,
              tie_word_embeddings=cfg["tied"])
    if cfg.get("variant", "mamba") == "falcon_mamba":
        from transformers import FalconMambaConfig as C
        kw["mixer_rms_eps"] = cfg["mixer_rms_eps"]
    else:
        from transformers import MambaConfig as C
    c = C(**kw)
    for k, v in [("hidden_size", d), ("state_size", S), ("num_hidden_layers", cfg["n_layer"]), ("time_step_rank", R),
                 ("intermediate_size", di), ("vocab_size", cfg["padded_vocab"]), ("conv_kernel", K),
                 ("tie_word_embeddings", cfg["tied"]), ("use_mambapy", False)]:
        assert getattr(c, k) == v, (k, getattr(c, k), v)
    if torch_dtype is not None:
        try:
            c.torch_dtype = torch_dtype
        except Exception:
            pass
    return c


def hf_class(cfg):
    if cfg.get("variant", "mamba") == "falcon_mamba":
        from transformers import FalconMambaForCausalLM
        return FalconMambaForCausalLM
    from transformers import MambaForCausalLM
    return MambaForCausalLM


def hf_model_from_params(cfg, p):
    """transformers model in float32 (CPU) holding the given canonical-name weights."""
    import torch
    m = hf_class(cfg)(hf_config(cfg)).float()
    sd = {to_hf_name(k): v.detach().float().cpu() for k, v in p.items()}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" for k in missing), missing
    if cfg["tied"]:
        assert torch.equal(m.lm_head.weight.detach(), sd["backbone.embeddings.weight"]), "lm_head not tied"
    else:
        assert torch.equal(m.lm_head.weight.detach(), sd["lm_head.weight"])
    return m.eval()


def hf_check_slow_path(model):
    """Asserts the model runs transformers' torch path (no mamba_ssm / causal_conv1d kernels, no mamba.py)."""
    info = {"device": str(next(model.parameters()).device), "training": model.training}
    mixer0 = model.backbone.layers[0].mixer
    info["use_mambapy"] = bool(getattr(mixer0, "use_mambapy", False))
    mod = sys.modules[type(mixer0).__module__]
    for fn in ("mamba_selective_scan", "causal_conv1d_fn", "mamba_inner_fn"):
        f = getattr(mod, fn, None)
        if f is not None:
            info[fn] = f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', getattr(f, '__name__', '?'))}"
    assert not info["use_mambapy"] and not info["training"], info
    import importlib.util
    for pkg in ("mamba_ssm", "causal_conv1d", "kernels"):
        info[pkg + "_installed"] = importlib.util.find_spec(pkg) is not None
    # transformers' wrappers use mamba_ssm / causal_conv1d when importable (or hub kernels via `kernels`);
    # without them the torch functions of modeling_mamba.py run (sequential scan, F.conv1d)
    assert not info["mamba_ssm_installed"] and not info["causal_conv1d_installed"], info
    return info


def hf_last_logits(model, ids_list):
    import torch
    out = []
    dev = next(model.parameters()).device
    with torch.no_grad():
        for ids in ids_list:
            t = torch.tensor([ids], dtype=torch.long, device=dev)
            o = model(input_ids=t, use_cache=False)
            out.append(o.logits[0, -1].double().cpu())
    return out


# ---------------------------------------------------------------- random weights

def random_params(cfg, gen, emb_std=0.5):
    """Random, non-degenerate float32 weights with canonical names (Delta in [0.05, 0.8], A in [-6, -0.3])."""
    import torch
    d, di, S, R, K = dims(cfg)
    V = cfg["padded_vocab"]

    def rn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen) * std

    def ru(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=gen)

    p = {}
    p["embedding.weight"] = rn(V, d, std=emb_std)
    for i in range(cfg["n_layer"]):
        pre = f"layers.{i}."
        p[pre + "norm.weight"] = ru(0.5, 1.5, d)
        p[pre + "mixer.in_proj.weight"] = rn(2 * di, d, std=1.0 / math.sqrt(d))
        p[pre + "mixer.conv1d.weight"] = ru(-0.6, 0.6, di, 1, K)
        p[pre + "mixer.conv1d.bias"] = ru(-0.3, 0.3, di)
        p[pre + "mixer.x_proj.weight"] = rn(R + 2 * S, di, std=1.5 / math.sqrt(di))
        p[pre + "mixer.dt_proj.weight"] = rn(di, R, std=0.5 / math.sqrt(R))
        dt = torch.exp(ru(math.log(0.05), math.log(0.8), di))
        p[pre + "mixer.dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        p[pre + "mixer.A_log"] = torch.log(ru(0.3, 6.0, di, S))
        p[pre + "mixer.D"] = ru(0.3, 1.7, di)
        p[pre + "mixer.out_proj.weight"] = rn(d, di, std=0.7 / math.sqrt(di))
    p["norm_f.weight"] = ru(0.5, 1.5, d)
    if not cfg["tied"]:
        p["lm_head.weight"] = rn(V, d, std=emb_std)
    return p


# ---------------------------------------------------------------- self-test

def selftest(log=print):
    """Returns a dict of checks; raises AssertionError on a failure. CPU only."""
    import torch
    res = {}
    torch.manual_seed(0)
    for variant in ("mamba", "falcon_mamba"):
        for tied, d, S, R in ((True, 32, 16, None), (False, 40, 8, 5)):
            cfg = {"d_model": d, "n_layer": 3, "d_state": S, "expand": 2, "d_conv": 4,
                   "dt_rank": R or auto_dt_rank(d), "eps": 1e-5, "vocab_size": 297, "padded_vocab": 304,
                   "tied": tied, "variant": variant, "mixer_rms_eps": 1e-6 if variant == "falcon_mamba" else None}
            gen = torch.Generator().manual_seed(11 + d)
            p32 = random_params(cfg, gen)
            p64 = {k: v.double() for k, v in p32.items()}
            prompts = [torch.randint(0, 297, (n,), generator=gen).tolist() for n in (1, 2, 5, 17, 40)]
            model = hf_model_from_params(cfg, p32)
            info = hf_check_slow_path(model)
            hl = hf_last_logits(model, prompts)
            diff = 0.0
            diff_scan = 0.0
            scale = 0.0
            for ids, h in zip(prompts, hl):
                t = torch.tensor([ids])
                ref, _ = spec_last_logits(p64, cfg, t)
                sc, _ = spec_last_logits(p64, cfg, t, mode="scan")
                diff = max(diff, float((ref[0] - h).abs().max()))
                diff_scan = max(diff_scan, float((ref[0] - sc[0]).abs().max()))
                scale = max(scale, float(ref.abs().max()))
            # knockouts: attention form vs the recurrence, keep and block
            ids = torch.tensor([prompts[3]])
            N = ids.shape[1]
            kd = 0.0
            changed = {}
            for layers, cols in (([0, 1], [2, 13, 14, 15]), ([2], list(range(N))), ([1], [16]), ([0, 1, 2], [0, 15])):
                for cb in (False, True):
                    a, _ = spec_last_logits(p64, cfg, ids, masks=last_row_masks(N, layers, cols, "cpu"), conv_block=cb)
                    b = scan_last_knock_logits(p64, cfg, ids, set(layers), cols, conv_block=cb)
                    kd = max(kd, float((a[0] - b[0]).abs().max()))
                    changed[(tuple(layers), cb)] = a
            block_vs_keep = float((changed[((0, 1), True)] - changed[((0, 1), False)]).abs().max())
            # complete knockout of every edge in every layer: the last logits depend on the last token only
            def all_blocked(idl):
                n = len(idl)
                m = torch.zeros(1, n, n, dtype=torch.float64)
                return spec_last_logits(p64, cfg, torch.tensor([idl]), masks={l: m for l in range(cfg["n_layer"])},
                                        conv_block=True)[0][0]
            inv = float((all_blocked(prompts[3]) - all_blocked(prompts[2][:-1] + [prompts[3][-1]])).abs().max())
            # empty mask (all keep) == no mask, with and without conv block
            one = torch.ones(1, N, N, dtype=torch.float64)
            e0 = float((spec_last_logits(p64, cfg, ids, masks={0: one, 1: one}, conv_block=True)[0]
                        - spec_last_logits(p64, cfg, ids)[0]).abs().max())
            key = f"{variant}-{'tied' if tied else 'untied'}-d{d}-S{S}-R{cfg['dt_rank']}"
            res[key] = {"hfMaxAbsDiff": diff, "maxAbsLogit": scale, "scanVsAttention": diff_scan,
                        "knockAttentionVsRecurrence": kd, "convBlockMinusKeepMaxAbs": block_vs_keep,
                        "allBlockedDependsOnLastTokenOnly": inv, "emptyMaskVsNone": e0, "hfPath": info}
            log(f"[selftest] {key}: HF vs spec {diff:.3g} (max|logit| {scale:.3g}), scan vs attention {diff_scan:.3g}, "
                f"knockout attention vs recurrence {kd:.3g}, block-keep {block_vs_keep:.3g}, all-blocked invariance {inv:.3g}")
            assert diff < 1e-4 * max(1.0, scale / 10), (key, diff)
            assert diff_scan < 1e-9 and kd < 1e-9 and inv < 1e-9 and e0 < 1e-12, (key, diff_scan, kd, inv, e0)
            assert block_vs_keep > 1e-6, (key, block_vs_keep)
    return res


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import json
    r = selftest()
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "hfPath"} for k, v in r.items()}, indent=1))
