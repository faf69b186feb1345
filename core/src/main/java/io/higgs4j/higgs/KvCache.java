package io.higgs4j.higgs;

import io.higgs4j.torch.DType;
import io.higgs4j.torch.Device;
import io.higgs4j.torch.Scope;
import io.higgs4j.torch.Tensor;
import io.higgs4j.torch.Torch;

import java.util.ArrayList;
import java.util.List;

/**
 * The keys and values of every decoder layer for one sequence (batch 1), for incremental decoding. Each layer keeps
 * preallocated buffers [1, kv_heads, capacity, head_dim] written in place; when a layer runs out of room its buffers
 * double (one copy), so a token never allocates a cache of its own.
 *
 * <p>A fast-forward layer hides audio positions from text queries and passes audio positions through unchanged, so
 * its keys and values at audio positions are never read: it stores text positions only, and an audio step skips the
 * layer. {@link #positions()} counts every position of the sequence (the next RoPE position).
 *
 * <p>The cache owns its buffers: close it (or use try-with-resources).
 */
public final class KvCache implements AutoCloseable {

    /** One layer's buffers and how many of their positions are filled. */
    public static final class Layer {
        private Tensor keys, values;
        private long length;
        private final long kvHeads, headDim;
        private final DType dtype;
        private final Device device;

        Layer(long kvHeads, long headDim, long capacity, DType dtype, Device device) {
            this.kvHeads = kvHeads;
            this.headDim = headDim;
            this.dtype = dtype;
            this.device = device;
            keys = allocate(capacity);
            values = allocate(capacity);
        }

        private Tensor allocate(long capacity) {
            return Scope.disown(Tensor.empty(new long[] {1, kvHeads, capacity, headDim}, dtype, device));
        }

        /** Positions stored in every layer so far. */
        public long length() { return length; }

        /** Positions the cache holds before it grows. */
        public long capacity() { return keys.size(2); }

        /** Appends keys and values [1, kv_heads, n, head_dim] (already rotated), growing by doubling when full. */
        void append(Tensor k, Tensor v) {
            long n = k.size(2);
            if (length + n > capacity()) grow(Math.max(capacity() * 2, length + n));
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                keys.narrow(2, length, n).copy_(k);
                values.narrow(2, length, n).copy_(v);
            }
            length += n;
        }

        private void grow(long capacity) {
            Tensor k = allocate(capacity), v = allocate(capacity);
            try (Scope s = Scope.open(); var g = Torch.noGrad()) {
                k.narrow(2, 0, length).copy_(keys.narrow(2, 0, length));
                v.narrow(2, 0, length).copy_(values.narrow(2, 0, length));
            }
            keys.close();
            values.close();
            keys = k;
            values = v;
        }

        /** Views of the filled part: keys and values [1, kv_heads, length, head_dim] (owned by the caller's scope). */
        Tensor keys() { return keys.narrow(2, 0, length); }

        Tensor values() { return values.narrow(2, 0, length); }

        void close() {
            keys.close();
            values.close();
        }
    }

    private final List<Layer> layers = new ArrayList<>();
    private long positions;
    private boolean closed;

    /** A cache for the model's layers with room for initialCapacity positions before the first doubling. */
    public KvCache(HiggsAudioModel model, long initialCapacity) {
        if (initialCapacity < 1) throw new IllegalArgumentException("KV cache capacity must be >= 1, got " + initialCapacity);
        HiggsAudioConfig.LlamaConfig c = model.config.textConfig();
        Tensor w = model.embedTokens.weight();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new Layer(c.numKeyValueHeads(), c.headDim(), initialCapacity, w.dtype(), w.device()));
        }
    }

    /** The keys and values of decoder layer index. */
    public Layer layer(int index) {
        if (closed) throw new IllegalStateException("the KV cache is closed");
        return layers.get(index);
    }

    /** Positions of the sequence so far: the RoPE position of the next one. */
    public long positions() { return positions; }

    void advance(long n) { positions += n; }

    /** Total bytes held by the buffers (capacity, not length). */
    public long bytes() {
        long total = 0;
        for (Layer l : layers) total += 2 * l.keys.numel() * l.dtype.elementSize();
        return total;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        layers.forEach(Layer::close);
    }
}
