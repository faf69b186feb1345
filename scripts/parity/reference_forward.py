"""An independent PyTorch implementation of the Higgs Audio v2 training forward (docs/MODEL.md
sections 3-6), used to check `bin/higgs4j forward` for parity. Written from the specification, vectorised
differently from the Java code; llama3 RoPE frequencies come from transformers' own rope initialisation.

usage: reference_forward.py MODEL_DIR BATCH.safetensors JAVA_OUT.safetensors [grad names...]
Prints the largest differences and exits non-zero when one is beyond tolerance.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def llama3_inv_freq(tc):
    try:
        from transformers import LlamaConfig
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
        cfg = LlamaConfig(**{k: v for k, v in tc.items() if k in (
            "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "rope_theta", "rope_scaling",
            "max_position_embeddings")})
        rs = tc.get("rope_scaling") or {}
        fn = ROPE_INIT_FUNCTIONS[rs.get("rope_type", "default")]
        inv, _ = fn(cfg, "cpu")
        return inv.double(), "transformers"
    except Exception as e:  # fall back to the formula of the spec
        d, theta = tc["head_dim"], tc["rope_theta"]
        inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
        rs = tc.get("rope_scaling")
        if rs:
            lo = rs["original_max_position_embeddings"] / rs["low_freq_factor"]
            hi = rs["original_max_position_embeddings"] / rs["high_freq_factor"]
            wl = 2 * math.pi / inv
            smooth = (rs["original_max_position_embeddings"] / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
            scaled = torch.where(wl > lo, inv / rs["factor"], inv)
            mid = (wl <= lo) & (wl >= hi)
            inv = torch.where(mid, (1 - smooth) * inv / rs["factor"] + smooth * inv, scaled)
        return inv, "formula (" + repr(e) + ")"


def rms(x, w, eps):
    h = x.float()
    return (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def main():
    model_dir, batch_path, java_path = sys.argv[1:4]
    grad_names = sys.argv[4:]
    cfg = json.load(open(f"{model_dir}/config.json"))
    tc = cfg["text_config"]
    W = {k: v.float() for k, v in load_file(f"{model_dir}/model.safetensors").items()}
    for n in grad_names:
        W[n].requires_grad_(True)
    B = load_file(batch_path)
    K, C = cfg["audio_num_codebooks"], cfg["audio_codebook_size"]
    H, nh, nkv, hd = tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"]
    eps = tc["rms_norm_eps"]

    ids, mask, labels = B["input_ids"], B["attention_mask"], B["label_ids"]
    bsz, seq = ids.shape
    offsets = (torch.arange(K) * (C + 2)).unsqueeze(1)

    def embed_audio(codes):
        return F.embedding(codes + offsets, W["audio_codebook_embeddings.weight"]).sum(0)

    def clips(codes, starts):
        bounds = starts.tolist() + [codes.shape[1]]
        return [codes[:, bounds[i]:bounds[i + 1]] for i in range(len(starts))]

    in_clips = clips(B["audio_in_ids"], B["audio_in_ids_start"]) if "audio_in_ids" in B else []
    out_clips = clips(B["audio_out_ids"], B["audio_out_ids_start"]) if "audio_out_ids" in B else []
    text_emb = F.embedding(ids, W["embed_tokens.weight"], padding_idx=cfg["pad_token_id"])

    # Build each merged row as a list of pieces.
    rows, row_lab, row_att, row_in, row_out = [], [], [], [], []
    ni = no = 0
    for b in range(bsz):
        pieces, lab, att, ain, aout = [], [], [], [], []
        for s in range(seq):
            t = ids[b, s].item()
            if mask[b, s] and t == cfg["audio_in_token_idx"]:
                e = embed_audio(in_clips[ni]); ni += 1
                pieces.append(e); n = e.shape[0]
                lab += [-100] * n; att += [1] * n; ain += [True] * n; aout += [False] * n
            elif mask[b, s] and t == cfg["audio_out_token_idx"]:
                e = embed_audio(out_clips[no]); no += 1
                pieces.append(e); n = e.shape[0]
                lab += [-100] * n; att += [1] * n; ain += [False] * n; aout += [True] * n
            else:
                pieces.append(text_emb[b, s:s + 1])
                lab.append(labels[b, s].item()); att.append(mask[b, s].item()); ain.append(False); aout.append(False)
        rows.append(torch.cat(pieces)); row_lab.append(lab); row_att.append(att); row_in.append(ain); row_out.append(aout)
    L = max(r.shape[0] for r in rows)
    L = (L + 7) // 8 * 8
    h = torch.zeros(bsz, L, H)
    lab = torch.full((bsz, L), -100, dtype=torch.long)
    att = torch.zeros(bsz, L, dtype=torch.long)
    ain = torch.zeros(bsz, L, dtype=torch.bool)
    aout = torch.zeros(bsz, L, dtype=torch.bool)
    for b in range(bsz):
        n = rows[b].shape[0]
        h = h.index_put((torch.full((n,), b), torch.arange(n)), rows[b])
        lab[b, :n] = torch.tensor(row_lab[b]); att[b, :n] = torch.tensor(row_att[b])
        ain[b, :n] = torch.tensor(row_in[b]); aout[b, :n] = torch.tensor(row_out[b])
    pos = (att.cumsum(-1) - 1).masked_fill(att == 0, 1)
    audio = ain | aout

    inv, source = llama3_inv_freq(tc)
    freqs = pos.double().unsqueeze(-1) * inv
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos().float().unsqueeze(1), emb.sin().float().unsqueeze(1)
    neg = torch.finfo(torch.float32).min
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    masked = causal[None, None] | (att == 0)[:, None, None, :]
    ff_masked = masked | audio[:, None, :, None] | audio[:, None, None, :]
    add_mask = torch.zeros(bsz, 1, L, L).masked_fill(masked, neg)
    ff_mask = torch.zeros(bsz, 1, L, L).masked_fill(ff_masked, neg)

    def attn(x, p, m):
        q = (x @ W[p + "q_proj.weight"].T).view(bsz, L, nh, hd).transpose(1, 2)
        k = (x @ W[p + "k_proj.weight"].T).view(bsz, L, nkv, hd).transpose(1, 2)
        v = (x @ W[p + "v_proj.weight"].T).view(bsz, L, nkv, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + m
        o = scores.softmax(-1) @ v
        return o.transpose(1, 2).reshape(bsz, L, nh * hd) @ W[p + "o_proj.weight"].T

    def mlp(x, p):
        return (F.silu(x @ W[p + "gate_proj.weight"].T) * (x @ W[p + "up_proj.weight"].T)) @ W[p + "down_proj.weight"].T

    dual = set(cfg["audio_dual_ffn_layers"])
    kind = cfg["audio_adapter_type"]
    am = audio.unsqueeze(-1)
    for i in range(tc["num_hidden_layers"]):
        p = f"layers.{i}."
        if kind != "stack" and i in dual:
            x = torch.where(am, rms(h, W[p + "audio_input_layernorm.weight"], eps), rms(h, W[p + "input_layernorm.weight"], eps))
            h = h + attn(x, p + "self_attn.", add_mask)
            t_out = mlp(rms(h, W[p + "post_attention_layernorm.weight"], eps), p + "mlp.")
            a_out = mlp(rms(h, W[p + "audio_post_attention_layernorm.weight"], eps), p + "audio_mlp.")
            h = h + torch.where(am, a_out, t_out)
        else:
            ff = kind == "dual_ffn_fast_forward"
            m = ff_mask if ff else add_mask
            x = h + attn(rms(h, W[p + "input_layernorm.weight"], eps), p + "self_attn.", m)
            x = x + mlp(rms(x, W[p + "post_attention_layernorm.weight"], eps), p + "mlp.")
            h = torch.where(am, h, x) if ff else x
    h = rms(h, W["norm.weight"], eps)
    logits = h @ W["audio_decoder_proj.text_lm_head.weight"].T
    audio_logits = (h[aout] @ W["audio_decoder_proj.audio_lm_head.weight"].T).view(-1, K, C + 2)

    text_loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
    al = B["label_audio_ids"]
    cb = torch.stack([F.cross_entropy(audio_logits[:-1, k], al[k, 1:], ignore_index=-100) for k in range(K)])
    audio_loss = cb.mean()
    total = text_loss + audio_loss
    grads = torch.autograd.grad(total, [W[n] for n in grad_names]) if grad_names else []

    J = load_file(java_path)
    checks = [("logits", logits, 2e-4), ("audio_logits", audio_logits, 2e-4), ("text_loss", text_loss, 2e-5),
              ("audio_loss", audio_loss, 2e-5), ("total_loss", total, 2e-5), ("codebook_losses", cb, 2e-5)]
    checks += [("grad." + n, g, 1e-4) for n, g in zip(grad_names, grads)]
    print(f"rope inverse frequencies from {source}; merged length {L}")
    ok = torch.equal(J["expanded_labels"], lab) and torch.equal(J["audio_out_mask"], aout.long())
    print(f"expanded_labels and audio_out_mask identical: {ok}")
    for name, ref, tol in checks:
        got = J[name]
        diff = (got - ref.detach()).abs().max().item()
        scale = ref.detach().abs().max().item()
        good = diff <= tol * max(1.0, scale)
        ok &= good
        print(f"{name:50s} max|diff| {diff:.3e}  (max|ref| {scale:.3e})  {'ok' if good else 'MISMATCH'}")
    print("PARITY OK" if ok else "PARITY FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
