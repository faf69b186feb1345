"""Runs the reference Higgs audio tokenizer from a higgs-audio checkout (REF) on random weights, for parity checks of
io.higgs4j.tokenizer. Nothing of the reference is copied here: its modules are imported from REF at run time, with
stand-ins for the packages it imports but does not need for encoding (audiotools, librosa, omegaconf, vector_quantize_pytorch)
and for torchaudio, whose resample() is written here from its documented algorithm (sinc_interp_hann, width 6, rolloff
0.99) because torchaudio is not installable on our machines. HuBERT is transformers' HubertModel.

usage:
  audio_tokenizer_reference.py REF names OUT.txt     the released config's state-dict names and shapes, one per line
  audio_tokenizer_reference.py REF tiny OUT_DIR       narrow widths: OUT_DIR/model.safetensors and OUT_DIR/io.safetensors
  audio_tokenizer_reference.py REF full OUT_DIR SEC   the released widths, random weights, SEC seconds of audio

io.safetensors holds: input [N] (24 kHz), semantic [F, H] (HuBERT's averaged hidden states, every second frame),
fused [T, Q] (fc_prior's output), codes [n_q, T] (int64) and decoded [T * 960] (decode(codes)).
"""
import json
import math
import os
import sys
import types

import torch
from safetensors.torch import save_file

V2 = dict(n_filters=32, D=256, codebook_dim=64, target_bandwidths=[0.5, 1, 1.5, 2, 4], ratios=[8, 5, 4, 2, 3],
          sample_rate=24000, bins=1024, n_q=8, semantic_techer="hubert_base_general")
TINY = dict(V2, D=8, codebook_dim=4, bins=16)
TINY_WIDTHS = dict(encoder=2, decoder=32, semantic=16)


def resample(x, orig_freq, new_freq, lowpass_filter_width=6, rolloff=0.99):
    g = math.gcd(orig_freq, new_freq)
    orig, new = orig_freq // g, new_freq // g
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64) / orig
    t = (torch.arange(0, -new, -1, dtype=torch.float64)[:, None] / new + idx[None, :]) * base
    t = t.clamp(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    kernel = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t) * window * base / orig
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    n = flat.shape[-1]
    y = torch.nn.functional.conv1d(torch.nn.functional.pad(flat, (width, width + orig))[:, None],
                                   kernel.to(x.dtype)[:, None, :], stride=orig)
    y = y.transpose(1, 2).reshape(flat.shape[0], -1)[:, : math.ceil(new * n / orig)]
    return y.reshape(shape[:-1] + y.shape[-1:])


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def load_reference(ref, hubert_config, widths=None):
    stub("torchaudio", functional=stub("torchaudio.functional", resample=resample))
    stub("librosa")
    stub("omegaconf", OmegaConf=None)
    stub("vector_quantize_pytorch", ResidualFSQ=None)
    stub("audiotools", AudioSignal=object, ml=stub("audiotools.ml", BaseModel=torch.nn.Module))
    audio = os.path.join(ref, "boson_multimodal", "audio_processing")
    sys.path.insert(0, os.path.join(audio, "descriptaudiocodec"))
    stub("boson_multimodal").__path__ = [os.path.join(ref, "boson_multimodal")]
    stub("boson_multimodal.audio_processing").__path__ = [audio]
    import transformers
    transformers.AutoModel.from_pretrained = staticmethod(lambda *a, **k: transformers.HubertModel(hubert_config))
    source = open(os.path.join(audio, "higgs_audio_tokenizer.py")).read()
    if widths:  # the reference fixes these widths in code; narrow them for a small fixture
        for old, new in [("dac2.Encoder(64,", f"dac2.Encoder({widths['encoder']},"),
                         ("dac2.Decoder(D, 1024,", f"dac2.Decoder(D, {widths['decoder']},"),
                         ("self.semantic_dim = 768", f"self.semantic_dim = {widths['semantic']}"),
                         ("self.encoder_semantic_dim = 768", f"self.encoder_semantic_dim = {widths['semantic']}")]:
            assert old in source, f"reference source changed: {old!r} not found"
            source = source.replace(old, new)
    name = "boson_multimodal.audio_processing.higgs_audio_tokenizer"
    module = types.ModuleType(name)
    module.__package__ = "boson_multimodal.audio_processing"
    module.__file__ = os.path.join(audio, "higgs_audio_tokenizer.py")
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module.HiggsAudioTokenizer


def hubert_config(tiny):
    from transformers import HubertConfig
    if not tiny:
        return HubertConfig()
    return HubertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=[8] * 7,
                        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)


def randomise(model, seed):
    """Random weights that make every part matter: codebooks (zeros under k-means init) random, inited set, Snake's
    alpha and the weight-norm gains spread around 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("._codebook.inited"):
                t.fill_(1)
            elif name.endswith("._codebook.embed") or name.endswith("._codebook.embed_avg"):
                t.copy_(torch.randn(t.shape, generator=g))
            elif name.endswith(".alpha") or name.endswith(".weight_g"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif t.is_floating_point() and name.endswith(".bias"):
                t.copy_(0.05 * torch.randn(t.shape, generator=g))


def signal(seconds, sr=24000):
    n = int(round(seconds * sr))
    t = torch.arange(n, dtype=torch.float64) / sr
    x = 0.3 * torch.sin(2 * math.pi * 220 * t) + 0.2 * torch.sin(2 * math.pi * 1250 * t + 0.5) \
        + 0.1 * torch.sin(2 * math.pi * 3100 * t) * torch.sin(2 * math.pi * 3 * t)
    x = x + 0.05 * torch.randn(n, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    return x.float()


def run(model, x):
    captured = {}
    model.fc_prior.register_forward_hook(lambda m, i, o: captured.__setitem__("fused", o[0].detach().clone()))
    with torch.no_grad():
        semantic = model.get_regress_target(x[None, None, :])[0]
        codes = model._xcodec_encode(x[None, None, :]).audio_codes[0]
        decoded = torch.from_numpy(model.decode(codes[None])).reshape(-1)
    return dict(input=x.contiguous(), semantic=semantic.contiguous(), fused=captured["fused"].contiguous(),
                codes=codes.long().contiguous(), decoded=decoded.float().contiguous())


def main():
    ref, mode = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    if mode == "names":
        cls = load_reference(ref, hubert_config(False))
        with torch.device("meta"):
            model = cls(**V2, device="cpu")
        with open(sys.argv[3], "w") as f:
            for k, v in model.state_dict().items():
                f.write(f"{k} {list(v.shape)}\n")
        return
    tiny = mode == "tiny"
    out = sys.argv[3]
    os.makedirs(out, exist_ok=True)
    cls = load_reference(ref, hubert_config(tiny), TINY_WIDTHS if tiny else None)
    model = cls(**(TINY if tiny else V2), device="cpu").eval()
    randomise(model, 1)
    seconds = 1.3 if tiny else float(sys.argv[4])
    results = run(model, signal(seconds))
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, os.path.join(out, "model.safetensors"))
    save_file(results, os.path.join(out, "io.safetensors"))
    config = dict(TINY if tiny else V2)
    if tiny:  # higgs4j's optional keys for the widths the reference fixes in code
        config.update(encoder_dim=TINY_WIDTHS["encoder"], decoder_dim=TINY_WIDTHS["decoder"], semantic_model_config=dict(
            hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=[8] * 7,
            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    codes = results["codes"]
    print(f"{mode}: {seconds} s -> codes {list(codes.shape)}, distinct per codebook "
          f"{[len(set(r.tolist())) for r in codes]}, decoded {results['decoded'].numel()} samples")


if __name__ == "__main__":
    main()
