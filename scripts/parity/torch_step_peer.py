"""The PyTorch peer of our step timers: the same Higgs Audio LoRA training step in eager PyTorch (base weights frozen,
fp32 LoRA via PEFT, fused AdamW), on the same batches (rows half text, half one audio-out clip), timed the same way
(warm-up steps, then the mean and the median of STEPS steps).
On CUDA (GpuStepTimer, scripts/gpu-bench.sh) the base is bf16; on CPU (benchmarks/CpuStepTimer, run-quick.sh) it is
float32, as on our side: both run the same dtype on the same device.
usage: torch_step_peer.py CONFIG(small|tiny|config.json) BATCH SEQ STEPS [MODES(lora|fwdbwd, comma-separated)] [DEVICE(cuda|cpu)] [LABELS]
   or: torch_step_peer.py CONFIG SIZES STEPS [MODES] [DEVICE] [LABELS], SIZES as BxT[:ckpt] separated by commas (GpuStepTimer's
       form: one model for every size; ":ckpt" checkpoints each decoder layer with torch.utils.checkpoint)
  LABELS: mixed (every text token labelled, the default) or voice (only the voice-cloning turn's three text tokens
          around the clip, as SyntheticBatch.voiceCloning); the model computes full logits either way, as the official
          one does
  lora:   forward, loss, backward, AdamW step on the LoRA parameters (default)
  fwdbwd: forward, loss, backward of the whole model (every parameter trainable, no LoRA, no optimizer), the step
          of HiggsModelBenchmark.forwardBackward
  Several modes run one after the other in this process (one import of torch and peft), one line each.
  CURVE=N (environment) also prints the median of every N steps from the first, warm-up included (CpuStepTimer: -Dcurve=N).
  DEVICE defaults to cuda:0 when CUDA is available, else cpu.
Written here from docs/MODEL.md; it mirrors our module names so PEFT's targets are the same."""
import json, math, os, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

# Warm-up before the timed steps, as our timers do it: on CPU at least 10 steps and at least 3 s (CpuStepTimer: our JVM
# compiles the model's code during its first steps; PyTorch's steps are flat from the first), on CUDA 5 steps
# (GpuStepTimer warms its JIT on a tiny model first; the 3B steps take up to seconds each on a device budget).
WARMUP = {"cpu": (10, 3.0), "cuda": (5, 0.0)}

SMALL = dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=2, head_dim=64,
             intermediate_size=1408, vocab_size=4096, rms_norm_eps=1e-5, rope_theta=500000.0)
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=128, vocab_size=1024, rms_norm_eps=1e-5, rope_theta=500000.0)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__(); self.weight = nn.Parameter(torch.ones(d)); self.eps = eps
    def forward(self, x):
        h = x.float(); return (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


class MLP(nn.Module):
    def __init__(self, h, i):
        super().__init__()
        self.gate_proj = nn.Linear(h, i, bias=False); self.up_proj = nn.Linear(h, i, bias=False); self.down_proj = nn.Linear(i, h, bias=False)
    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__(); h, n, kv, d = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.n, self.kv, self.d = n, kv, d
        self.q_proj = nn.Linear(h, n * d, bias=False); self.k_proj = nn.Linear(h, kv * d, bias=False)
        self.v_proj = nn.Linear(h, kv * d, bias=False); self.o_proj = nn.Linear(n * d, h, bias=False)
    def forward(self, x, cos, sin, mask):
        b, l, _ = x.shape
        q = self.q_proj(x).view(b, l, self.n, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, l, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, l, self.kv, self.d).transpose(1, 2)
        rot = lambda t: torch.cat((-t[..., self.d // 2:], t[..., :self.d // 2]), -1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
        return self.o_proj(o.transpose(1, 2).reshape(b, l, self.n * self.d))


class Layer(nn.Module):
    def __init__(self, c, audio_inter):
        super().__init__(); h, e = c["hidden_size"], c["rms_norm_eps"]
        self.self_attn = Attn(c); self.mlp = MLP(h, c["intermediate_size"]); self.audio_mlp = MLP(h, audio_inter)
        self.input_layernorm = RMSNorm(h, e); self.post_attention_layernorm = RMSNorm(h, e)
        self.audio_input_layernorm = RMSNorm(h, e); self.audio_post_attention_layernorm = RMSNorm(h, e)
    def forward(self, h, cos, sin, mask, audio):
        x = torch.where(audio.unsqueeze(-1), self.audio_input_layernorm(h), self.input_layernorm(h))
        h = h + self.self_attn(x, cos, sin, mask)
        out = torch.zeros_like(h)
        out[~audio] = self.mlp(self.post_attention_layernorm(h[~audio]))
        out[audio] = self.audio_mlp(self.audio_post_attention_layernorm(h[audio]))
        return h + out


class Higgs(nn.Module):
    def __init__(self, c, k=8, cb=1024):
        super().__init__(); h = c["hidden_size"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], h)
        self.layers = nn.ModuleList([Layer(c, c.get("audio_inter", c["intermediate_size"])) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(h, c["rms_norm_eps"]); self.audio_codebook_embeddings = nn.Embedding(k * (cb + 2), h)
        self.audio_decoder_proj = nn.Module()
        self.audio_decoder_proj.text_lm_head = nn.Linear(h, c["vocab_size"], bias=False)
        self.audio_decoder_proj.audio_lm_head = nn.Linear(h, k * (cb + 2), bias=False)
        d = c["head_dim"]; self.inv = 1.0 / c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d); self.k, self.cb = k, cb

    ckpt = False  # per-layer activation checkpointing (torch.utils.checkpoint, non-reentrant)

    def forward(self, text_ids, codes, b, text, clip):
        # each row: text/2 tokens, the clip's columns, the other text/2 tokens (the merged layout of our batches)
        dev = text_ids.device; hsz = self.embed_tokens.weight.shape[1]
        t_emb = self.embed_tokens(text_ids)                                      # [b, text, h]
        offs = (torch.arange(self.k, device=dev) * (self.cb + 2)).unsqueeze(1)
        a_emb = self.audio_codebook_embeddings(codes + offs).sum(0).view(b, clip, hsz)
        h = torch.cat((t_emb[:, :text // 2], a_emb, t_emb[:, text // 2:]), 1)
        l = h.shape[1]
        audio = torch.zeros(b, l, dtype=torch.bool, device=dev); audio[:, text // 2:text // 2 + clip] = True
        pos = torch.arange(l, device=dev, dtype=torch.float64)
        f = pos.unsqueeze(-1) * self.inv.to(dev); e = torch.cat((f, f), -1)
        cos, sin = e.cos().to(h.dtype)[None, None], e.sin().to(h.dtype)[None, None]
        mask = torch.zeros(l, l, device=dev, dtype=h.dtype).masked_fill(torch.ones(l, l, dtype=torch.bool, device=dev).triu(1), torch.finfo(h.dtype).min)[None, None]
        for layer in self.layers:
            if self.ckpt:
                h = torch.utils.checkpoint.checkpoint(layer, h, cos, sin, mask, audio, use_reentrant=False)
            else:
                h = layer(h, cos, sin, mask, audio)
        h = self.norm(h)
        return self.audio_decoder_proj.text_lm_head(h), self.audio_decoder_proj.audio_lm_head(h[audio]).view(-1, self.k, self.cb + 2), audio


def main():
    which = sys.argv[1]
    if "x" in sys.argv[2]:  # CONFIG SIZES STEPS ...
        sizes = [(int(z.split(":")[0].split("x")[0]), int(z.split(":")[0].split("x")[1]), z.endswith(":ckpt")) for z in sys.argv[2].split(",")]
        steps, rest = int(sys.argv[3]), sys.argv[4:]
    else:  # CONFIG BATCH SEQ STEPS ...
        sizes, steps, rest = [(int(sys.argv[2]), int(sys.argv[3]), False)], int(sys.argv[4]), sys.argv[5:]
    modes = (rest[0] if len(rest) > 0 else "lora").split(",")
    for mode in modes:
        if mode not in ("lora", "fwdbwd"):
            sys.exit(f"unknown mode {mode!r}: expected lora or fwdbwd")
    if which == "small":
        c = dict(SMALL, audio_inter=1408)
    elif which == "tiny":
        c = dict(TINY, audio_inter=128)
    else:
        j = json.load(open(which)); t = j["text_config"]
        c = dict(hidden_size=t["hidden_size"], num_hidden_layers=t["num_hidden_layers"], num_attention_heads=t["num_attention_heads"],
                 num_key_value_heads=t["num_key_value_heads"], head_dim=t["head_dim"], intermediate_size=t["intermediate_size"],
                 vocab_size=t["vocab_size"], rms_norm_eps=t["rms_norm_eps"], rope_theta=t["rope_theta"], audio_inter=j["audio_ffn_intermediate_size"])
    dev = torch.device(rest[1] if len(rest) > 1 else "cuda:0" if torch.cuda.is_available() else "cpu")
    labels = rest[2] if len(rest) > 2 else "mixed"
    if labels not in ("mixed", "voice"):
        sys.exit(f"unknown labels {labels!r}: expected mixed or voice")
    ceiling = matmul_tflops(dev) if dev.type == "cuda" else None
    if ceiling:
        print(f"bf16 matmul 8192^3: {ceiling:.0f} TFLOP/s", flush=True)
    for mode in modes:
        model, inner, opt = build(c, mode, dev)
        for b, seq, ckpt in sizes:
            inner.ckpt = ckpt
            try:
                time_step(which, c, model, opt, b, seq, steps, mode, dev, ckpt, ceiling, labels)
            except torch.cuda.OutOfMemoryError as e:
                print(f"PyTorch {which} batch {b} x {seq} tokens{', checkpointing' if ckpt else ''}: failed: {str(e).splitlines()[0]}", flush=True)
                model.zero_grad(set_to_none=True)
        del model, inner, opt


def matmul_tflops(dev):
    a, b = torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev), torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev)
    for _ in range(3): a @ b
    torch.cuda.synchronize(dev); t0 = time.perf_counter()
    for _ in range(10): a @ b
    torch.cuda.synchronize(dev)
    return 10 * 2 * 8192 ** 3 / (time.perf_counter() - t0) / 1e12


def flops(c, b, seq):
    """GpuStepTimer's count: 6 per linear weight on a token's path (the text head on the text half, the audio head on
    the audio half), plus 12 x layers x hidden x length per token for attention."""
    h, q, kv = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    body = c["num_hidden_layers"] * (2 * h * q + 2 * h * kv + 3 * h * c["intermediate_size"])
    heads = (h * c["vocab_size"] + h * 8 * 1026) / 2
    return 6 * (body + heads) * b * seq + 12 * c["num_hidden_layers"] * h * seq * b * seq


def build(c, mode, dev):
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(dev):
        inner = Higgs(c).to(dtype)
    model = inner
    if mode == "lora":
        from peft import LoraConfig, get_peft_model
        targets = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                   "mlp.down_proj", "audio_mlp.gate_proj", "audio_mlp.up_proj", "audio_mlp.down_proj"]
        model = get_peft_model(inner, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=targets))
        for n, p in model.named_parameters():
            if "lora_" in n: p.data = p.data.float()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)
    else:
        model.requires_grad_(True); opt = None
    return model, inner, opt


def time_step(which, c, model, opt, b, seq, steps, mode, dev, ckpt, ceiling, labels="mixed"):
    cuda = dev.type == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    sync = (lambda: torch.cuda.synchronize(dev)) if cuda else (lambda: None)
    if cuda: torch.cuda.reset_peak_memory_stats(dev)
    text, clip = seq // 2, seq - seq // 2
    g = torch.Generator().manual_seed(1)
    text_ids = torch.randint(0, 1000, (b, text), generator=g).to(dev)
    codes = torch.randint(0, 1024, (8, b * clip), generator=g).to(dev)
    times = []
    warmup_steps, warmup_seconds = WARMUP[dev.type]
    start, warmed, every = time.perf_counter(), 0, []
    while len(times) < steps:
        sync(); t0 = time.perf_counter()
        logits, alog, audio = model(text_ids, codes, b, text, clip)
        lab = torch.full(audio.shape, -100, dtype=torch.long, device=dev)
        if labels == "mixed":
            lab[:, :text // 2] = text_ids[:, :text // 2]; lab[:, text // 2 + clip:] = text_ids[:, text // 2:]
        else:  # the token before the clip and the two after it
            lab[:, text // 2 - 1] = text_ids[:, text // 2 - 1]; lab[:, text // 2 + clip:text // 2 + clip + 2] = text_ids[:, text // 2:text // 2 + 2]
        tl = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
        al = torch.stack([F.cross_entropy(alog[:-1, k].float(), codes[k, 1:]) for k in range(8)]).mean()
        (tl + al).backward()
        if opt is not None:
            opt.step(); opt.zero_grad(set_to_none=True)
        else:
            for p in model.parameters(): p.grad = None
        sync()
        dt = time.perf_counter() - t0
        every.append(dt)
        if warmed >= warmup_steps and t0 - start >= warmup_seconds:
            times.append(dt)
        else:
            warmed += 1
    step = sum(times) / len(times)
    median = statistics.median(times)
    curve = int(os.environ.get("CURVE", "0"))  # as CpuStepTimer's -Dcurve: the median of every CURVE steps from the first
    if curve > 0:
        print(f"PyTorch {which} {mode}, median ms of each {curve} steps from the first (warm-up included): "
              + " ".join(f"{statistics.median(every[i:i + curve]) * 1e3:.1f}" for i in range(0, len(every) - curve + 1, curve)), flush=True)
    what = "LoRA step" if mode == "lora" else "forward+backward"
    where = "" if cuda else f" on cpu, {torch.get_num_threads()} threads"
    extra = ""
    if cuda:
        free, total = torch.cuda.mem_get_info(dev)
        extra = (f", MFU {flops(c, b, seq) / step / (ceiling * 1e12):.3f}, memory in use {(total - free) / 2**30:.1f} GiB"
                 f" (tensors' peak {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB)")
    print(f"PyTorch {torch.__version__} {which} {what}, batch {b} x {seq} tokens, {labels} labels, {str(dtype).replace('torch.', '').replace('bfloat16', 'bf16')}"
          f"{', checkpointing' if ckpt else ''}{where}: {step * 1e3:.1f} ms, {b * seq / step:.0f} tokens/s, median {median * 1e3:.1f} ms{extra}", flush=True)


if __name__ == "__main__":
    main()
