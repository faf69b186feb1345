import io.higgs4j.higgs.HiggsAudioConfig;
import io.higgs4j.higgs.HiggsAudioModel;
import io.higgs4j.nn.Init;
import io.higgs4j.safetensors.SafetensorsWriter;
import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Writes a small random Higgs Audio checkpoint (3 layers: dual-FFN, fast-forward, dual-FFN) and a two-row collated
 * batch (audio-in and audio-out clips, one padded row) for scripts/parity/reference_forward.py.
 * Run: java --enable-native-access=ALL-UNNAMED -cp 'JARS/*' scripts/parity/MakeParityFixture.java OUT_DIR
 */
public class MakeParityFixture {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Path model = Files.createDirectories(out.resolve("model"));
        HiggsAudioConfig tiny = HiggsAudioConfig.preset("tiny");
        var t = tiny.textConfig();
        HiggsAudioConfig c = new HiggsAudioConfig(new HiggsAudioConfig.LlamaConfig(t.hiddenSize(), 3, t.numAttentionHeads(),
                t.numKeyValueHeads(), t.headDim(), t.intermediateSize(), t.vocabSize(), t.rmsNormEps(), t.ropeTheta(),
                t.ropeScaling(), 0.2), "dual_ffn_fast_forward", Set.of(0, 2), 8, 1024, 1024, 1025, true, true, false, false,
                96, tiny.audioInTokenIdx(), tiny.audioOutTokenIdx(), tiny.audioOutBosTokenId(), tiny.audioEosTokenId(), tiny.padTokenId());
        Files.writeString(model.resolve("config.json"), c.toJson().toPrettyString());
        Torch.manualSeed(17);
        try (HiggsAudioModel m = new HiggsAudioModel(c, new Init(DType.FLOAT32, Device.CPU, 0.2))) {
            SafetensorsWriter.write(model.resolve("model.safetensors"), m.namedParameters());
        }
        Random r = new Random(5);
        long A = c.audioInTokenIdx(), O = c.audioOutTokenIdx(), P = c.padTokenId();
        long[] ids = {3, 9, A, 12, 40, O, 7, 8, 50, 51, 52, O, 60, 61, P, P};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        long[] labels = {-100, -100, -100, 12, 40, -100, 7, 8, -100, 51, 52, -100, 60, 61, -100, -100};
        int nin = 5, nout = 6 + 4;
        long[] in = new long[8 * nin], outIds = new long[8 * nout], outLabels = new long[8 * nout];
        for (int i = 0; i < in.length; i++) in[i] = r.nextInt(1026);
        for (int k = 0; k < 8; k++) {
            for (int j = 0; j < nout; j++) {
                long code = r.nextInt(1026);
                outIds[k * nout + j] = code;
                outLabels[k * nout + j] = j == 0 || j == 6 ? -100 : code; // each clip's first label column is -100
            }
        }
        Map<String, Tensor> batch = new LinkedHashMap<>();
        batch.put("input_ids", Tensor.of(ids, 2, 8));
        batch.put("attention_mask", Tensor.of(mask, 2, 8));
        batch.put("audio_in_ids", Tensor.of(in, 8, nin));
        batch.put("audio_in_ids_start", Tensor.of(new long[] {0}));
        batch.put("audio_out_ids", Tensor.of(outIds, 8, nout));
        batch.put("audio_out_ids_start", Tensor.of(new long[] {0, 6}));
        batch.put("label_ids", Tensor.of(labels, 2, 8));
        batch.put("label_audio_ids", Tensor.of(outLabels, 8, nout));
        SafetensorsWriter.write(out.resolve("batch.safetensors"), batch);
        System.out.println("wrote " + model + " and " + out.resolve("batch.safetensors"));
    }
}
