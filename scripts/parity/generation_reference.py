"""Runs the OFFICIAL Higgs Audio v2 generation loop (boson_multimodal's HiggsAudioModel.generate, which calls its own
_sample / _sample_text_tokens / _sample_audio_tokens) on tiny random weights and writes a fixture for the Java generation
engine, or times it as a speed peer. Nothing of the reference is copied here: REF is a higgs-audio checkout whose
modules are imported at run time; the inputs are built by the official HiggsAudioSampleCollator (delay pattern
included), as examples/generation.py does.

usage:
  generation_reference.py REF fixture OUT_DIR
      OUT_DIR/config.json, OUT_DIR/model.safetensors (float32, the reference's state-dict names), OUT_DIR/cases.json
  generation_reference.py REF bench small PROMPT_LEN FRAMES [REPEATS]
      one line per run: official_generate frames=F seconds=S frames_per_s=X prefill_tokens_per_s=Y

The reference pins transformers>=4.45.1,<4.47; it runs here under transformers 4.57 (install it with --no-deps in a venv,
plus tokenizers 0.22.x) with these shims, all set up in load_reference():
  1. import-time version check: transformers 4.57 refuses huggingface-hub>=1.0 when imported; only its version probe is
     answered with 0.36.0 for the duration of `import transformers` (nothing of the hub is used).
  2. LLAMA_ATTENTION_CLASSES (gone since 4.48) is injected into transformers.models.llama.modeling_llama with "sdpa"
     mapped to Sdpa446Attention below: our own attention with the 4.46 LlamaSdpaAttention interface and semantics
     (q/k/v/o projections, rotate-half RoPE from the given (cos, sin), past_key_value.update(k, v, layer_idx, {...}),
     repeat_kv for GQA, scaled_dot_product_attention with the mask sliced to the key length and
     is_causal = (mask is None and q_len > 1), returns (out, None, past_key_value)). The config is forced to sdpa: the
     official _update_causal_mask depends on the sdpa branch (it drops the all-ones mask), eager would not work there.
  3. GenerationConfig.generation_kwargs (a per-instance dict in 4.46, gone in 4.57) is restored by wrapping __init__;
     the official generate stores audio_out_bos_token_id, audio_eos_token_id, ras_win_len, ras_win_max_num_repeat and
     seed in it.
  4. _has_unfinished_sequences: the official _sample passes cur_len= and max_length=, which 4.46 accepted (and used only
     under torch.compile); the shim accepts and ignores them and calls 4.57's own method.
  5. HiggsAudioModel._sample: 4.57's generate passes only the non-None generation-mode kwargs, so the official _sample
     (whose synced_gpus, streamer and past_key_values_buckets have no defaults) is wrapped to give them 4.46's values
     (False, None, None) and is then called unchanged.
  6. Stub modules for packages the official collator's module imports but the collator does not use here: librosa,
     dacite, pandas, loguru.
The entry point that runs is the real model.generate(...) (-> GenerationMixin.generate of 4.57 -> the official _sample),
with a DynamicCache (no past_key_values_buckets, no CUDA graphs). The fixture mode also checks that the official forward
without a cache (use_cache=False) over the final sequence reproduces every cached step's logits and argmax.

The tiny model: dual_ffn_fast_forward, 3 layers (0 and 2 dual-FFN, 1 fast-forward), hidden 64, 4 heads / 2 kv heads,
head_dim 16, llama3 RoPE as released, text vocabulary 64, 4 codebooks of 6 (stream BOS 6, EOS 7). intermediate_size is
16, not 128, so that the fixture stays under 300 KB. The official audio FFN is LlamaMLP(text_config): the reference
never reads audio_ffn_intermediate_size, so config.json sets it equal to intermediate_size. Weights: randomise_tiny()
with the first seed / row scales (searched in a fixed order) for which every case shows what it is for and every greedy
decision has a relative top-2 gap > MIN_GAP; the sampling seed is searched the same way.

cases.json:
  {"codebooks": K, "codebook_size": C, "stream_bos": C, "stream_eos": C + 1, "weights": {...how they were made...},
   "logits_processors": {"greedy": [...], "sampled": [...]}  (class names, in the order generate applied them),
   "cases": [{"name", "description", "input_ids": [...], "audio_in_ids": K x N or null, "audio_in_ids_start": [...] or null,
              "audio_out_ids": K x N or null, "audio_out_ids_start": [...] or null, "max_new_tokens", "stop_token_ids",
              "do_sample", (sampled: "seed", "temperature", "top_k", "top_p", "ras_win_len", "ras_win_max_num_repeat"),
              "expected": {"sequence": [...], "audio": [K x cols, ...]}, "min_top2_gap": x or null (sampled),
              "steps": n (loop iterations = forward calls), "summary": {"clips": [{"frames", "closed", "eos_frame",
              "first_eos_codebook"}], "text_steps", "ras_redraw_events"}}]}
  audio_*_ids are the collator's tensors (each clip [BOS | codes | EOS] in the delay pattern, padded with EOS, clips
  concatenated; *_start the clip offsets). expected.sequence is the returned input_ids: the prompt, then per generated
  clip ONE <|AUDIO_OUT|> (appended by the forced step after <|audio_out_bos|>) and <|audio_eos|> if the clip closed.
  expected.audio is the returned audio_sequences: the generated clips only (a prompt clip would be included only if the
  prompt ended in <|AUDIO_OUT|>), each starting with its stream-BOS column, the last ending with whatever was generated
  when the loop stopped (possibly just the BOS column). min_top2_gap: over the greedy decisions (text argmax, and per
  codebook the audio argmax where the delay / EOS forcing does not override it), (top1 - top2) / max(1, |top1|).
  max_new_tokens counts loop iterations (text tokens, the forced <|AUDIO_OUT|> step, and every audio frame).

Facts of the official loop that the fixture exercises: the last column of a generated clip is never fed back (the step
that closes a clip feeds <|audio_eos|> next, without audio), so the KV cache holds every column but the last; the
stream-EOS event uses the FIRST codebook e holding EOS (`all_eos_indices[0][-1]`), forces codebooks < e to EOS in that
frame and closes after K - e - 1 more frames, forcing [:e+1], [:e+2], ...: the last codebook is never forced in the
closing frame; RAS looks at the last ras_win_len columns of ALL audio-out ids (the prompt's clips and earlier clips
included) and re-draws from the raw logits (no temperature / top-k / top-p) with the same generator.
"""
import contextlib
import importlib.metadata
import json
import os
import sys
import time
import types

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- tiny model / token layout

K, C = 4, 6  # codebooks, codebook size (stream BOS = 6, stream EOS = 7)
VOCAB = 64
AUDIO_EOS, AUDIO_OUT_BOS, AUDIO_BOS, AUDIO_IN, AUDIO_OUT, PAD, EOT = 52, 53, 54, 55, 56, 60, 61
BEGIN, HDR_START, HDR_END, NL, USER, ASSISTANT = 45, 40, 42, 43, 44, 41  # plain ids below 50 standing for chat tokens
MIN_GAP = 3e-3  # required relative top-2 gap of every greedy decision
FORBIDDEN_TEXT = {AUDIO_BOS, AUDIO_IN, AUDIO_OUT, PAD}  # would derail or crash the official loop if emitted as text

ROPE = {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192,
        "rope_type": "llama3"}


def tiny_config():
    # intermediate_size 16 (not 128) keeps model.safetensors under 300 KB with the attention shapes asked for
    return dict(
        architectures=["HiggsAudioModel"], model_type="higgs_audio", audio_adapter_type="dual_ffn_fast_forward",
        audio_dual_ffn_layers=[0, 2], audio_num_codebooks=K, audio_codebook_size=C, audio_stream_bos_id=C,
        audio_stream_eos_id=C + 1, use_delay_pattern=True, encode_audio_in_tokens=True, encode_whisper_embed=False,
        skip_audio_tower=True, audio_embed_avg=False, use_audio_out_embed_projector=False, use_audio_out_self_attention=0,
        audio_decoder_proj_num_layers=0, use_rq_transformer=False, hidden_size=64, audio_ffn_hidden_size=64,
        audio_ffn_intermediate_size=16, audio_in_token_idx=AUDIO_IN, audio_out_token_idx=AUDIO_OUT,
        audio_out_bos_token_id=AUDIO_OUT_BOS, audio_eos_token_id=AUDIO_EOS, pad_token_id=PAD,
        text_config=dict(model_type="llama", hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=16, intermediate_size=16, vocab_size=VOCAB, rms_norm_eps=1e-5,
                         rope_theta=500000.0, rope_scaling=dict(ROPE), max_position_embeddings=131072,
                         hidden_act="silu", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                         pretraining_tp=1, tie_word_embeddings=False, bos_token_id=None, eos_token_id=None,
                         initializer_range=0.02))


def small_config():
    return dict(
        architectures=["HiggsAudioModel"], model_type="higgs_audio", audio_adapter_type="dual_ffn_fast_forward",
        audio_dual_ffn_layers=[0, 1, 2, 3], audio_num_codebooks=8, audio_codebook_size=1024, audio_stream_bos_id=1024,
        audio_stream_eos_id=1025, use_delay_pattern=True, encode_audio_in_tokens=True, encode_whisper_embed=False,
        skip_audio_tower=True, audio_embed_avg=False, use_audio_out_embed_projector=False, use_audio_out_self_attention=0,
        audio_decoder_proj_num_layers=0, use_rq_transformer=False, hidden_size=512, audio_ffn_hidden_size=512,
        audio_ffn_intermediate_size=1408, audio_in_token_idx=4015, audio_out_token_idx=4016,
        audio_out_bos_token_id=4013, audio_eos_token_id=4012, pad_token_id=4001,
        text_config=dict(model_type="llama", hidden_size=512, num_hidden_layers=4, num_attention_heads=8,
                         num_key_value_heads=2, head_dim=64, intermediate_size=1408, vocab_size=4096, rms_norm_eps=1e-5,
                         rope_theta=500000.0, rope_scaling=dict(ROPE), max_position_embeddings=131072,
                         hidden_act="silu", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                         pretraining_tp=1, tie_word_embeddings=False, bos_token_id=None, eos_token_id=None,
                         initializer_range=0.02))


# ---------------------------------------------------------------- shims and loading

def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def expand_kv(x, groups):
    if groups == 1:
        return x
    b, h, s, d = x.shape
    return x[:, :, None, :, :].expand(b, h, groups, s, d).reshape(b, h * groups, s, d)


class Sdpa446Attention(nn.Module):
    """Llama self-attention with the interface and semantics of transformers 4.46's LlamaSdpaAttention (see the module
    docstring, shim 2). Written here; the 4.57 LlamaAttention has another calling convention."""

    def __init__(self, config, layer_idx=None):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.attention_dropout = config.attention_dropout
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = getattr(config, "head_dim", None) or self.hidden_size // self.num_heads
        self.num_key_value_heads = config.num_key_value_heads
        self.num_key_value_groups = self.num_heads // self.num_key_value_heads
        bias = config.attention_bias
        self.q_proj = nn.Linear(self.hidden_size, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, self.hidden_size, bias=bias)

    def forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_value=None,
                output_attentions=False, use_cache=False, cache_position=None, position_embeddings=None, **kwargs):
        if output_attentions:
            raise NotImplementedError("output_attentions (4.46 fell back to eager attention there)")
        if position_embeddings is None:
            raise ValueError("position_embeddings are required (the official layers always pass them)")
        bsz, q_len, _ = hidden_states.shape
        q = self.q_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        cos, sin = position_embeddings
        c, s = cos.unsqueeze(1), sin.unsqueeze(1)
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        if past_key_value is not None:
            k, v = past_key_value.update(k, v, self.layer_idx, {"sin": sin, "cos": cos, "cache_position": cache_position})
        k = expand_kv(k, self.num_key_value_groups)
        v = expand_kv(v, self.num_key_value_groups)
        mask = attention_mask[:, :, :, : k.shape[-2]] if attention_mask is not None else None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.attention_dropout if self.training else 0.0,
                                             is_causal=mask is None and q_len > 1)
        out = out.transpose(1, 2).contiguous().view(bsz, q_len, -1)
        return self.o_proj(out), None, past_key_value


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def load_reference(ref):
    # shim 1: transformers 4.57's import-time dependency check vs huggingface-hub 1.x
    real_version = importlib.metadata.version
    importlib.metadata.version = lambda n: "0.36.0" if n in ("huggingface-hub", "huggingface_hub") else real_version(n)
    try:
        import transformers
    finally:
        importlib.metadata.version = real_version
    from transformers import GenerationConfig, GenerationMixin
    from transformers.models.llama import modeling_llama

    # shim 2
    modeling_llama.LLAMA_ATTENTION_CLASSES = {"sdpa": Sdpa446Attention}

    # shim 3
    if not hasattr(GenerationConfig(), "generation_kwargs"):
        init = GenerationConfig.__init__

        def gc_init(self, **kwargs):
            extra = kwargs.pop("generation_kwargs", None)
            init(self, **kwargs)
            self.generation_kwargs = dict(extra) if extra else {}

        GenerationConfig.__init__ = gc_init

    # shim 6
    stub("librosa")
    stub("dacite")
    stub("pandas")
    stub("loguru", logger=types.SimpleNamespace(fatal=print, warning=print, error=print, info=print))

    sys.path.insert(0, ref)
    from boson_multimodal.model.higgs_audio import modeling_higgs_audio as mha
    from boson_multimodal.model.higgs_audio.configuration_higgs_audio import HiggsAudioConfig
    from boson_multimodal.model.higgs_audio.utils import revert_delay_pattern
    from boson_multimodal.data_collator.higgs_audio_collator import HiggsAudioSampleCollator
    from boson_multimodal.dataset.chatml_dataset import ChatMLDatasetSample

    model_cls = mha.HiggsAudioModel

    # shim 4
    def has_unfinished(self, this_peer_finished, synced_gpus, device, cur_len=None, max_length=None):
        return GenerationMixin._has_unfinished_sequences(self, this_peer_finished, synced_gpus, device)

    model_cls._has_unfinished_sequences = has_unfinished

    # shim 5
    official_sample = model_cls._sample

    def sample(self, input_ids, logits_processor, stopping_criteria, generation_config, synced_gpus=False,
               streamer=None, past_key_values_buckets=None, **model_kwargs):
        return official_sample(self, input_ids, logits_processor, stopping_criteria, generation_config, synced_gpus,
                               streamer, past_key_values_buckets, **model_kwargs)

    model_cls._sample = sample
    return types.SimpleNamespace(transformers=transformers, HiggsAudioConfig=HiggsAudioConfig, HiggsAudioModel=model_cls,
                                 Collator=HiggsAudioSampleCollator, Sample=ChatMLDatasetSample,
                                 revert_delay_pattern=revert_delay_pattern, GenerationMode=mha.GenerationMode)


def build_model(R, cfg_dict):
    cfg = R.HiggsAudioConfig(**json.loads(json.dumps(cfg_dict)))
    cfg._attn_implementation = "sdpa"
    cfg.text_config._attn_implementation = "sdpa"
    model = R.HiggsAudioModel(cfg).eval()
    return model


def collator(R, model):
    c = model.config
    return R.Collator(whisper_processor=None, audio_in_token_id=c.audio_in_token_idx,
                      audio_out_token_id=c.audio_out_token_idx, audio_stream_bos_id=c.audio_stream_bos_id,
                      audio_stream_eos_id=c.audio_stream_eos_id, encode_whisper_embed=c.encode_whisper_embed,
                      pad_token_id=c.pad_token_id, return_audio_in_tokens=c.encode_audio_in_tokens,
                      use_delay_pattern=c.use_delay_pattern, round_to=1, audio_num_codebooks=c.audio_num_codebooks)


def collate(R, coll, input_ids, clips):
    """clips: raw K x n code tensors, one per <|AUDIO|> / <|AUDIO_OUT|> in input_ids, in order."""
    starts = torch.tensor([0] + [c.shape[1] for c in clips[:-1]], dtype=torch.long).cumsum(0) if clips else None
    sample = R.Sample(input_ids=torch.tensor(input_ids, dtype=torch.long), label_ids=None,
                      audio_ids_concat=torch.cat(clips, dim=1) if clips else None, audio_ids_start=starts,
                      audio_waveforms_concat=None, audio_waveforms_start=None, audio_sample_rate=None,
                      audio_speaker_indices=None)
    from dataclasses import asdict
    return asdict(coll([sample]))


# ---------------------------------------------------------------- weights

def randomise_tiny(model, seed, eos_scale, bos_row_scale, eot_scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "self_attn" in name:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))
            else:  # mlp / audio_mlp
                p.copy_(0.25 * torch.randn(p.shape, generator=g))
        head = model.audio_decoder_proj.audio_lm_head.weight.view(K, C + 2, -1)
        head[:, C + 1] *= eos_scale      # stream EOS rows: how soon a clip ends
        head[:, C] *= 0.2                # stream BOS rows: rarely predicted as a code
        text = model.audio_decoder_proj.text_lm_head.weight
        text[AUDIO_OUT_BOS] *= bos_row_scale
        text[EOT] *= eot_scale
        for t in FORBIDDEN_TEXT:
            text[t] *= 0.1


def randomise_small(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
        cfg = model.config
        head = model.audio_decoder_proj.audio_lm_head.weight.view(cfg.audio_num_codebooks, cfg.audio_codebook_size + 2, -1)
        head[:, cfg.audio_stream_eos_id] = 0.0


# ---------------------------------------------------------------- running one case

class RasCounter:
    """Counts the RAS re-draws of the official _sample_audio_tokens (its Tensor.multinomial(..., replacement=True)
    calls on the selected rows); observation only."""

    def __init__(self):
        self.events, self.rows = 0, 0

    @contextlib.contextmanager
    def watch(self):
        real = torch.Tensor.multinomial
        counter = self

        def spy(t, *a, **kw):
            if kw.get("replacement") and t.dim() == 2:
                counter.events += 1 if t.shape[0] > 0 else 0
                counter.rows += t.shape[0]
            return real(t, *a, **kw)

        torch.Tensor.multinomial = spy
        try:
            yield self
        finally:
            torch.Tensor.multinomial = real


def run_generate(model, batch, spec, scores=False):
    kw = dict(max_new_tokens=spec["max_new_tokens"], use_cache=True, eos_token_id=list(spec["stop_token_ids"]),
              audio_out_bos_token_id=model.config.audio_out_bos_token_id,
              audio_eos_token_id=model.config.audio_eos_token_id, do_sample=spec["do_sample"])
    if spec["do_sample"]:
        kw.update(temperature=spec["temperature"], top_k=spec["top_k"], top_p=spec["top_p"], seed=spec["seed"],
                  ras_win_len=spec["ras_win_len"], ras_win_max_num_repeat=spec["ras_win_max_num_repeat"])
    if scores:
        kw.update(return_dict_in_generate=True, output_scores=True, output_logits=True)
    args = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    real = type(model)._get_logits_processor

    def spy(self, *a, **k):  # records the processors generate builds; observation only
        lp = real(self, *a, **k)
        PROCESSORS[spec["do_sample"]] = [type(x).__name__ for x in lp]
        return lp

    model._get_logits_processor = types.MethodType(spy, model)
    try:
        return model.generate(**args, **kw)
    finally:
        del model._get_logits_processor


PROCESSORS = {}


def clip_facts(gen, audio):
    """Per generated clip: frames (columns after the BOS column), closed (followed by <|audio_eos|>), the frame of the
    stream-EOS event (the first column holding an EOS: before it nothing forces EOS) and the codebook e whose EOS
    started it. The official loop forces codebooks < e to EOS in that frame and counts K - e - 1 more frames, so for a
    closed clip e = K - 1 - (frames - eos_frame); the column alone cannot tell e from codebooks above e that happened
    to emit EOS too."""
    outs = [i for i, t in enumerate(gen) if t == AUDIO_OUT]
    facts = []
    for i, clip in enumerate(audio):
        frames = clip.shape[1] - 1
        closed = outs[i] + 1 < len(gen) and gen[outs[i] + 1] == AUDIO_EOS
        cols = [f for f in range(1, frames + 1) if (clip[:, f] == C + 1).any()]
        eos_frame = cols[0] if cols else None
        e = None
        if eos_frame is not None:
            e = K - 1 - (frames - eos_frame) if closed else clip[:, eos_frame].tolist().index(C + 1)
        facts.append(dict(frames=frames, closed=closed, eos_frame=eos_frame, first_eos_codebook=e))
    return facts


def analyse(spec, prompt_len, out):
    """Walks the steps of a dict-output generate: the mode of each step, the greedy decisions and their top-2 gaps
    (only decisions the delay / EOS forcing does not override), and the clips."""
    seq = out.sequences[0].tolist()
    gen = seq[prompt_len:]
    clips = clip_facts(gen, out.audio_sequences)
    raw, sc = out.logits, out.scores
    steps, gaps = [], []
    state = "text" if seq[prompt_len - 1] != AUDIO_OUT_BOS else "init"
    ti = 0  # index into the generated (compressed) tokens
    clip_i, frame = -1, 0
    for s in range(len(raw)):
        if raw[s].shape[0] == 1:  # the text head's (1, V)
            tok = gen[ti]
            ti += 1
            if state == "init":  # forced <|AUDIO_OUT|> and the stream-BOS column
                steps.append(("init", tok))
                clip_i, frame, state = clip_i + 1, 0, "audio"
            else:
                top = sc[s][0].topk(2).values
                gaps.append(((top[0] - top[1]) / max(1.0, abs(top[0].item()))).item())
                steps.append(("text", tok))
                state = "init" if tok == AUDIO_OUT_BOS else "text"
        else:  # the audio head's (K, C + 2)
            frame += 1
            c = clips[clip_i]
            forced_below = 0
            if c["eos_frame"] is not None and frame >= c["eos_frame"]:
                forced_below = c["first_eos_codebook"] + (frame - c["eos_frame"])
            for k in range(K):
                if forced_below <= k < frame:
                    top = sc[s][k].topk(2).values
                    gaps.append(((top[0] - top[1]) / max(1.0, abs(top[0].item()))).item())
            steps.append(("audio", out.audio_sequences[clip_i][:, frame].tolist()))
            if frame == c["frames"] and c["closed"]:
                ti += 1  # <|audio_eos|>
                state = "text"
    return steps, gaps, clips


def check_no_cache(model, batch, spec, prompt_len, out):
    """The official forward without a cache over the sequence as the cached steps fed it (each generated clip without
    its last column, which the loop never feeds back) must reproduce every step's raw logits."""
    seq = out.sequences
    gen_clips = [c[:, :-1] for c in out.audio_sequences]
    prompt_clips = batch["audio_out_ids"] if batch["audio_out_ids"] is not None and batch["audio_out_ids"].numel() else None
    parts = ([prompt_clips] if prompt_clips is not None else []) + gen_clips
    starts = []
    n = 0
    if prompt_clips is not None:
        starts += batch["audio_out_ids_start"].tolist()
        n = prompt_clips.shape[1]
    for c in gen_clips:
        starts.append(n)
        n += c.shape[1]
    audio_out = torch.cat(parts, dim=1) if parts else None
    with torch.no_grad():
        full = model(input_ids=seq, attention_mask=torch.ones_like(seq),
                     audio_in_ids=batch["audio_in_ids"], audio_in_ids_start=batch["audio_in_ids_start"],
                     audio_out_ids=audio_out, audio_out_ids_start=torch.tensor(starts, dtype=torch.long) if parts else None,
                     use_cache=False, return_dict=True)
    # positions of the expanded sequence: one per text token, one per audio column
    in_lens = clip_lengths(batch["audio_in_ids"], batch["audio_in_ids_start"])
    out_lens = [b - a for a, b in zip(starts, starts[1:] + [n])]
    expanded = sum(in_lens.pop(0) if t == AUDIO_IN else out_lens.pop(0) if t == AUDIO_OUT else 1 for t in seq[0].tolist())
    pad = full.logits.shape[1] - expanded
    audio_rows = torch.nonzero(full.audio_out_mask[0]).squeeze(1).tolist()
    prompt_in = clip_lengths(batch["audio_in_ids"], batch["audio_in_ids_start"])
    prompt_out = clip_lengths(batch["audio_out_ids"], batch["audio_out_ids_start"])
    p0 = sum(prompt_in.pop(0) if t == AUDIO_IN else prompt_out.pop(0) if t == AUDIO_OUT else 1
             for t in batch["input_ids"][0].tolist()) - 1  # step 0 gives the logits at the prompt's last position
    worst, agree, total = 0.0, 0, 0
    for s, cached in enumerate(out.logits):
        pos = pad + p0 + s
        if cached.shape[0] == 1:
            ref = full.logits[0, pos]
            d = (ref - cached[0]).abs().max().item()
            same = ref.argmax().item() == cached[0].argmax().item()
            total += 1
        else:
            ref = full.audio_logits[audio_rows.index(pos)]
            d = (ref - cached).abs().max().item()
            same = bool((ref.argmax(-1) == cached.argmax(-1)).all())
            total += 1
        worst = max(worst, d)
        agree += int(same)
    return worst, agree, total


def clip_lengths(ids, starts):
    if ids is None or ids.numel() == 0:
        return []
    st = starts.tolist()
    return [b - a for a, b in zip(st, st[1:] + [ids.shape[1]])]


# ---------------------------------------------------------------- fixture

def prompts(g):
    def text(n):
        return torch.randint(0, 40, (n,), generator=g).tolist()

    def clip(n):
        return torch.randint(0, C, (K, n), generator=g)

    user = [HDR_START, USER, HDR_END, NL]
    asst = [HDR_START, ASSISTANT, HDR_END, NL]
    ref_in, ref_out = clip(5), clip(6)
    sys_text, u1, u2, u3 = text(4), text(5), text(6), text(5)
    return [
        dict(name="text", description="prompt ends in plain text; greedy text generation",
             ids=[BEGIN] + user + u1 + [EOT] + asst + text(3), clips=[], max_new_tokens=10),
        dict(name="text_to_audio", description="prompt ends with the assistant header and <|audio_out_bos|>; greedy",
             ids=[BEGIN] + user + u2 + [EOT] + asst + [AUDIO_OUT_BOS], clips=[], max_new_tokens=40),
        dict(name="audio_in_reference",
             description="as text_to_audio, after a user turn holding a reference clip as audio-in "
                         "(<|audio_bos|><|AUDIO|><|audio_eos|>, codes in audio_in_ids)",
             ids=[BEGIN] + user + u1 + [AUDIO_BOS, AUDIO_IN, AUDIO_EOS] + [EOT] + user + u3 + [EOT] + asst + [AUDIO_OUT_BOS],
             clips=[ref_in], max_new_tokens=40),
        dict(name="audio_out_reference",
             description="as text_to_audio, with the reference clip as an earlier assistant audio-out turn "
                         "(<|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>, codes in audio_out_ids), the layout of "
                         "examples/generation.py",
             ids=[BEGIN] + [HDR_START, 46, HDR_END, NL] + sys_text + [EOT] + user + u1 + [EOT] + asst
             + [AUDIO_OUT_BOS, AUDIO_OUT, AUDIO_EOS, EOT] + user + u2 + [EOT] + asst + [AUDIO_OUT_BOS],
             clips=[ref_out], max_new_tokens=40),
    ]


def make_spec(p, **extra):
    spec = dict(name=p["name"], max_new_tokens=p["max_new_tokens"], stop_token_ids=[EOT], do_sample=False)
    spec.update(extra)
    return spec


def evaluate(model, R, coll, specs_prompts):
    """Runs the cases, stopping at the first that misses a hard constraint; returns (ok, soft, results, reasons) where
    soft counts the audio cases that also show a second clip or end on a stop token, plus one for each kind of
    stream-EOS event seen (lower codebooks forced at once, a countdown)."""
    results, soft, cascades = [], 0, set()
    for p, spec in specs_prompts:
        name = spec["name"]
        batch = collate(R, coll, p["ids"], p["clips"])
        prompt_len = batch["input_ids"].shape[1]
        ras = RasCounter()
        try:
            with ras.watch():
                out = run_generate(model, batch, spec, scores=True)
        except Exception as e:  # e.g. a sampled <|AUDIO_OUT|> in text mode
            return False, soft, results, [f"{name}: {type(e).__name__}: {e}"]
        steps, gaps, clips = analyse(spec, prompt_len, out)
        gen = out.sequences[0, prompt_len:].tolist()
        text_tokens = [t for kind, t in steps if kind == "text"]
        r = dict(p=p, spec=spec, batch=batch, prompt_len=prompt_len, out=out, steps=steps, gaps=gaps, clips=clips,
                 ras_events=ras.events, ras_rows=ras.rows, text_tokens=text_tokens)
        results.append(r)
        reasons = []
        bad = [t for t in text_tokens if t in FORBIDDEN_TEXT]
        if bad:
            reasons.append(f"{name}: text mode emitted {bad}")
        if not spec["do_sample"] and gaps and min(gaps) <= MIN_GAP:
            reasons.append(f"{name}: near tie {min(gaps):.2e}")
        if name == "text":
            if any(k != "text" for k, _ in steps) or AUDIO_OUT_BOS in gen or len(set(gen)) < 4:
                reasons.append("text: not a varied plain-text run")
        else:
            c = clips[0] if clips else None
            if c is None or not c["closed"]:
                reasons.append(f"{name}: first clip did not close")
            elif c["eos_frame"] < K + 2 or c["frames"] > 24:
                reasons.append(f"{name}: clip of {c['frames']} frames, stream EOS at frame {c['eos_frame']}")
            else:
                i = steps.index(("init", AUDIO_OUT))
                after = steps[i + 1 + c["frames"]:]
                if len(after) < 2 or after[0][0] != "text":
                    reasons.append(f"{name}: too little text after the clip")
            if spec["do_sample"] and r["ras_events"] == 0:
                reasons.append(f"{name}: RAS never re-drew")
            soft += int(len(clips) > 1 or gen[-1] in spec["stop_token_ids"])
            cascades.update(c["first_eos_codebook"] for c in clips if c["closed"])
        if reasons:
            return False, soft, results, reasons
    # one clip whose EOS event forces lower codebooks at once (e > 0), one with a countdown (e < K - 1)
    soft += int(any(e > 0 for e in cascades)) + int(any(e < K - 1 for e in cascades))
    return True, soft, results, []


def fixture(R, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cfg_dict = tiny_config()
    model = build_model(R, cfg_dict)
    coll = collator(R, model)
    ps = prompts(torch.Generator().manual_seed(1234))
    greedy = [(p, make_spec(p)) for p in ps]
    chosen, best, tried = None, None, 0
    target = len(greedy) - 1 + 2  # every audio case closes with a stop or a second clip; both kinds of EOS event
    for seed in range(300):
        for eos_scale, bos_scale, eot_scale in [(0.6, 1.3, 1.5), (0.8, 1.5, 1.5), (1.0, 1.3, 1.8), (0.7, 1.8, 1.3)]:
            tried += 1
            randomise_tiny(model, seed, eos_scale, bos_scale, eot_scale)
            ok, soft, results, reasons = evaluate(model, R, coll, greedy)
            if ok and (best is None or soft > best[0]):
                best = (soft, (seed, eos_scale, bos_scale, eot_scale))
            if ok and soft >= target:
                break
        if best and best[0] >= target:
            break
    if best is None:
        raise SystemExit(f"no weight seed met the case constraints in {tried} tries; last: {reasons}")
    chosen = best[1]
    randomise_tiny(model, *chosen)
    ok, soft, results, reasons = evaluate(model, R, coll, greedy)
    assert ok, reasons
    print(f"weights: seed {chosen[0]}, stream-EOS rows x{chosen[1]}, text row <|audio_out_bos|> x{chosen[2]}, "
          f"<|eot|> x{chosen[3]} (after {tried} tries)")

    base = ps[3]
    sampled_p = dict(base, name="sampled", max_new_tokens=48,
                     description="as audio_out_reference, sampled: temperature, top-k, top-p, RAS, seeded CPU generator")
    sampled = None
    for sseed in range(1, 500):
        spec = make_spec(sampled_p, do_sample=True, seed=sseed, temperature=0.9, top_k=5, top_p=0.9, ras_win_len=7,
                         ras_win_max_num_repeat=2)
        ok, soft, res, reasons = evaluate(model, R, coll, [(sampled_p, spec)])
        if ok and soft:
            sampled = res[0]
            break
    if sampled is None:
        raise SystemExit(f"no sampling seed met the constraints: {reasons}")
    results.append(sampled)

    # the plain (tuple) call must give what the dict call gave, and a rerun of the sampled case must repeat itself
    cases = []
    for r in results:
        seq, audio = run_generate(model, r["batch"], r["spec"])
        assert seq.tolist() == r["out"].sequences.tolist(), r["spec"]["name"]
        assert [a.tolist() for a in audio] == [a.tolist() for a in r["out"].audio_sequences], r["spec"]["name"]
        cases.append(case_json(r))
        summarise(r)
        if not r["spec"]["do_sample"]:
            worst, agree, total = check_no_cache(model, r["batch"], r["spec"], r["prompt_len"], r["out"])
            print(f"    no-cache forward vs cached steps: argmax agrees at {agree}/{total} steps, "
                  f"max |logit diff| {worst:.2e}")
            assert agree == total and worst < 1e-3, r["spec"]["name"]
    doc = dict(codebooks=K, codebook_size=C, stream_bos=C, stream_eos=C + 1,
               weights=dict(seed=chosen[0], stream_eos_row_scale=chosen[1], audio_out_bos_text_row_scale=chosen[2],
                            eot_text_row_scale=chosen[3],
                            note="randomise_tiny() in scripts/parity/generation_reference.py; the values live in "
                                 "model.safetensors"),
               logits_processors=dict(greedy=PROCESSORS[False], sampled=PROCESSORS[True]),
               cases=cases)
    save_model(model, cfg_dict, out_dir)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    sizes = {n: os.path.getsize(os.path.join(out_dir, n)) for n in ("config.json", "model.safetensors", "cases.json")}
    print(f"wrote {out_dir}: {sizes} = {sum(sizes.values())} bytes; logits processors {doc['logits_processors']}")


def tensor_or_none(t):
    return t.tolist() if t is not None and t.numel() > 0 else None


def case_json(r):
    spec, b, out = r["spec"], r["batch"], r["out"]
    gaps = r["gaps"]
    c = dict(name=spec["name"], description=r["p"]["description"], input_ids=b["input_ids"][0].tolist(),
             audio_in_ids=tensor_or_none(b["audio_in_ids"]),
             audio_in_ids_start=tensor_or_none(b["audio_in_ids_start"]) if tensor_or_none(b["audio_in_ids"]) else None,
             audio_out_ids=tensor_or_none(b["audio_out_ids"]),
             audio_out_ids_start=tensor_or_none(b["audio_out_ids_start"]) if tensor_or_none(b["audio_out_ids"]) else None,
             max_new_tokens=spec["max_new_tokens"], stop_token_ids=spec["stop_token_ids"], do_sample=spec["do_sample"])
    if spec["do_sample"]:
        for k in ("seed", "temperature", "top_k", "top_p", "ras_win_len", "ras_win_max_num_repeat"):
            c[k] = spec[k]
    c["expected"] = dict(sequence=out.sequences[0].tolist(), audio=[a.tolist() for a in out.audio_sequences])
    greedy = not spec["do_sample"]
    c["min_top2_gap"] = min(gaps) if greedy and gaps else None
    c["steps"] = len(out.logits)
    c["summary"] = dict(clips=r["clips"], text_steps=sum(1 for s in r["steps"] if s[0] == "text"),
                        ras_redraw_events=r["ras_events"] if spec["do_sample"] else None)
    return c


def summarise(r):
    spec, steps, clips = r["spec"], r["steps"], r["clips"]
    gen = r["out"].sequences[0, r["prompt_len"]:].tolist()
    parts = []
    for kind, v in steps:
        if kind == "text":
            parts.append(str(v))
        elif kind == "init":
            parts.append("[init]")
        else:
            if parts and parts[-1].startswith("<"):
                n = int(parts[-1][1:-1].split()[0]) + 1
                parts[-1] = f"<{n} frames>"
            else:
                parts.append("<1 frames>")
    g = f"min top-2 gap {min(r['gaps']):.3g}" if not spec["do_sample"] else f"RAS re-draws {r['ras_events']} ({r['ras_rows']} rows)"
    print(f"  {spec['name']}: {len(steps)} steps -> {' '.join(parts)}; ends with {gen[-1]}"
          f"{' (stop)' if gen[-1] in spec['stop_token_ids'] else ' (max_new_tokens)'}; {g}")
    for i, c in enumerate(clips):
        print(f"    clip {i}: {c['frames']} frames after the BOS column, first stream EOS in codebook "
              f"{c['first_eos_codebook']} at frame {c['eos_frame']}, closed={c['closed']}")


def save_model(model, cfg_dict, out_dir):
    from safetensors.torch import save_file
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)


# ---------------------------------------------------------------- bench

def bench(R, preset, prompt_len, frames, repeats):
    if preset != "small":
        raise SystemExit("only the 'small' preset exists")
    cfg_dict = small_config()
    model = build_model(R, cfg_dict)
    randomise_small(model, 0)
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 4000, (1, prompt_len - 1), generator=g)
    ids = torch.cat([ids, torch.tensor([[cfg.audio_out_bos_token_id]])], dim=1)
    print(f"torch {torch.__version__}, transformers {R.transformers.__version__}, threads {torch.get_num_threads()}, "
          f"preset small, prompt {prompt_len}, frames {frames}")

    def gen():
        kw = dict(max_new_tokens=frames + 1, use_cache=True, do_sample=False,
                  audio_out_bos_token_id=cfg.audio_out_bos_token_id, audio_eos_token_id=cfg.audio_eos_token_id)
        return model.generate(input_ids=ids.clone(), attention_mask=torch.ones_like(ids), **kw)

    def prefill():
        with torch.inference_mode():
            return model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True, return_dict=True)

    seq, audio = gen()  # warm-up
    prefill()
    got = audio[0].shape[1] - 1 if audio else 0
    if got != frames:
        print(f"warning: the clip has {got} frames, not {frames}")
    for _ in range(repeats):
        t0 = time.perf_counter()
        seq, audio = gen()
        t1 = time.perf_counter()
        prefill()
        t2 = time.perf_counter()
        print(f"official_generate frames={frames} seconds={t1 - t0:.4f} frames_per_s={frames / (t1 - t0):.2f} "
              f"prefill_tokens_per_s={prompt_len / (t2 - t1):.1f}")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    ref, mode = sys.argv[1], sys.argv[2]
    R = load_reference(ref)
    if mode == "fixture":
        print(f"torch {torch.__version__}, transformers {R.transformers.__version__}")
        fixture(R, sys.argv[3])
    elif mode == "bench":
        bench(R, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else 3)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
