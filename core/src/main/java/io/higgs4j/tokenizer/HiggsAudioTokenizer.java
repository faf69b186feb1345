package io.higgs4j.tokenizer;

import io.higgs4j.audio.Audio;
import io.higgs4j.nn.Init;
import io.higgs4j.nn.Linear;
import io.higgs4j.nn.Module;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;
import io.higgs4j.torch.TorchException;

import java.util.List;

/**
 * The Higgs audio tokenizer (xcodec-style), in evaluation, with the reference's module names: {@code encoder} (DAC
 * acoustic encoder), {@code semantic_model} (HuBERT), {@code encoder_semantic}, {@code fc_prior}, {@code quantizer}
 * (8-level RVQ), {@code fc_post1}, {@code fc_post2} and {@code decoder_2} (DAC decoder). The checkpoint's
 * {@code decoder_semantic.*} (a reconstruction head used only when training the tokenizer) is not built; see
 * {@link AudioTokenizerLoader}.
 *
 * <p>{@link #encode(Tensor)}: 24 kHz audio -> codes [n_q, T] at 25 Hz, T = ceil(seconds x 25). The audio goes to
 * 16 kHz (torchaudio's resampler), gets 160 samples of silence on each side and passes HuBERT; the mean of HuBERT's
 * hidden states, every second frame, passes {@code encoder_semantic}. The acoustic encoder sees the 24 kHz audio (padded
 * by 160 x 2 samples a side where its length would otherwise differ from the semantic one). The two are concatenated,
 * projected by {@code fc_prior} and quantised. {@link #decode(Tensor)}: codes -> the RVQ vectors' sum ->
 * {@code fc_post2} -> {@code decoder_2} -> 24 kHz audio, T x 960 samples.
 */
public final class HiggsAudioTokenizer extends Module {
    public final AudioTokenizerConfig config;
    public final DacEncoder encoder;
    public final DacDecoder decoder2;
    public final HubertModel semanticModel;
    public final SemanticEncoder encoderSemantic;
    public final ResidualVectorQuantizer quantizer;
    public final Linear fcPrior, fcPost1, fcPost2;

    public HiggsAudioTokenizer(AudioTokenizerConfig config, Init init) {
        this.config = config;
        int semanticDim = config.semantic().hiddenSize();
        int qDim = config.quantizerDim();
        encoder = child("encoder", new DacEncoder(config.encoderDim(), config.ratios(), config.latentDim(), init));
        decoder2 = child("decoder_2", new DacDecoder(config.latentDim(), config.decoderDim(), config.ratios(), init));
        semanticModel = child("semantic_model", new HubertModel(config.semantic(), init));
        encoderSemantic = child("encoder_semantic", new SemanticEncoder(semanticDim, init));
        quantizer = child("quantizer", new ResidualVectorQuantizer(qDim, config.codebookDim(), config.nQ(), config.bins(), init));
        fcPrior = child("fc_prior", new Linear(config.latentDim() + semanticDim, qDim, true, init));
        fcPost1 = child("fc_post1", new Linear(qDim, semanticDim, true, init));
        fcPost2 = child("fc_post2", new Linear(qDim, config.latentDim(), true, init));
        train(false);
    }

    /** Code frames for n samples at the tokenizer's rate: ceil(n / hop). */
    public long frames(long samples) {
        return Math.ceilDiv(samples, config.hopLength());
    }

    /** Any mono audio: resampled to the tokenizer's rate when needed (see {@link Audio#resampled}), then encoded. */
    public long[][] encode(Audio audio) {
        Audio a = audio.resampled(config.sampleRate());
        try (Scope s = Scope.open()) {
            Tensor codes = encode(Tensor.of(a.samples(), a.samples().length));
            long t = codes.size(1);
            long[] flat = codes.toLongArray();
            long[][] out = new long[config.nQ()][];
            for (int k = 0; k < out.length; k++) out[k] = java.util.Arrays.copyOfRange(flat, (int) (k * t), (int) ((k + 1) * t));
            return out;
        }
    }

    /** Samples [N] at the tokenizer's rate (any device the tokenizer's weights are on) -> codes [n_q, T], int64 on the CPU. */
    public Tensor encode(Tensor samples) {
        if (samples.dim() != 1) throw new TorchException("audio tokenizer: expected samples [N], got " + java.util.Arrays.toString(samples.shape()));
        long n = samples.size(0);
        if (n < config.hopLength()) {
            throw new TorchException("audio tokenizer: " + n + " samples is shorter than one code frame (" + config.hopLength()
                    + " samples, " + 1000 / config.frameRate() + " ms at " + config.sampleRate() + " Hz)");
        }
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor codes = quantizer.encode(fusedLatent(samples), config.nQ()).select(1, 0);
            return Scope.keep(codes.to(Device.CPU).contiguous());
        }
    }

    /** Samples [N] -> fc_prior's output, the latent that is quantised, [1, quantizerDim, T]. */
    Tensor fusedLatent(Tensor samples) {
        long n = samples.size(0);
        Tensor w = fcPrior.weight();
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor x = samples.to(w.device(), w.dtype()).view(1, n);
            Tensor semantic = semanticFeatures(x);
            Tensor acoustic = encoder.forward(x.unsqueeze(1));
            if (acoustic.size(2) != semantic.size(2)) {
                long pad = (long) config.semantic().hop() / 2 * config.semanticDownsample();
                acoustic = encoder.forward(pad(x, pad, pad).unsqueeze(1));
            }
            long t = Math.min(acoustic.size(2), semantic.size(2));
            Tensor e = Tensor.cat(List.of(acoustic.narrow(2, 0, t), semantic.narrow(2, 0, t)), 1);
            return Scope.keep(fcPrior.forward(e.transpose(1, 2)).transpose(1, 2));
        }
    }

    /** x [1, N] at the tokenizer's rate -> encoder_semantic's output [1, hidden, frames]. */
    private Tensor semanticFeatures(Tensor x) {
        try (Scope s = Scope.open()) {
            return Scope.keep(encoderSemantic.forward(semanticTarget(x).transpose(1, 2)));
        }
    }

    /**
     * The reference's get_regress_target: x [1, N] at the tokenizer's rate, at 16 kHz, padded by half a HuBERT frame a
     * side -> the mean of HuBERT's hidden states, every semanticDownsample-th frame, [1, frames, hidden].
     */
    Tensor semanticTarget(Tensor x) {
        try (Scope s = Scope.open()) {
            Tensor x16 = SincResample.resample(x, config.sampleRate(), config.semanticSampleRate());
            long half = config.semantic().hop() / 2;
            Tensor target = semanticModel.averagedHiddenStates(pad(x16, half, half));
            int ds = config.semanticDownsample();
            return Scope.keep(ds > 1 ? target.slice(1, 0, target.size(1), ds) : target);
        }
    }

    private static Tensor pad(Tensor x, long left, long right) {
        return x.pad(new long[] {left, right}, "constant", null);
    }

    /** Codes [K, T] (K up to n_q, values in [0, bins)) -> audio [T x hop] at the tokenizer's rate, float32 on the CPU. */
    public Tensor decode(Tensor codes) {
        if (codes.dim() != 2 || codes.size(0) < 1 || codes.size(0) > config.nQ() || codes.size(1) < 1) {
            throw new TorchException("audio tokenizer: codes must be [K <= " + config.nQ() + ", T >= 1], got "
                    + java.util.Arrays.toString(codes.shape()));
        }
        Tensor w = fcPost2.weight();
        try (Scope s = Scope.open(); var g = Torch.noGrad()) {
            Tensor c = codes.to(Device.CPU).to(DType.INT64);
            long min = c.min().itemLong(), max = c.max().itemLong();
            if (min < 0 || max >= config.bins()) {
                throw new TorchException("audio tokenizer: codes must lie in [0, " + config.bins() + "), found " + (min < 0 ? min : max));
            }
            Tensor quantized = quantizer.decode(c.to(w.device()).unsqueeze(1));
            Tensor acoustic = fcPost2.forward(quantized.transpose(1, 2)).transpose(1, 2);
            Tensor audio = decoder2.forward(acoustic).reshape(-1);
            return Scope.keep(audio.to(Device.CPU, DType.FLOAT32).contiguous());
        }
    }

    /** Codes [K][T] -> audio at the tokenizer's rate. */
    public Audio decode(long[][] codes) {
        if (codes.length == 0) throw new IllegalArgumentException("audio tokenizer: no codebooks given");
        int t = codes[0].length;
        long[] flat = new long[codes.length * t];
        for (int k = 0; k < codes.length; k++) {
            if (codes[k].length != t) throw new IllegalArgumentException("audio tokenizer: codebook " + k + " has " + codes[k].length + " frames, codebook 0 has " + t);
            System.arraycopy(codes[k], 0, flat, k * t, t);
        }
        try (Scope s = Scope.open()) {
            return new Audio(decode(Tensor.of(flat, codes.length, t)).toFloatArray(), config.sampleRate());
        }
    }
}
