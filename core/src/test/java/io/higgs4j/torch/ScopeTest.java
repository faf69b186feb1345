package io.higgs4j.torch;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ScopeTest {

    @Test
    void scopeClosesWhatWasCreatedInsideIt() {
        long before = Tensor.liveCount();
        Tensor a, b;
        try (Scope s = Scope.open()) {
            a = Tensor.ones(3);
            b = a.add(a).mul(2.0);
            assertEquals(before + 3, Tensor.liveCount(), "ones, add and mul: the scalar operand is not a Java tensor");
        }
        assertTrue(a.isClosed());
        assertTrue(b.isClosed());
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void keptTensorsSurviveAndMoveToTheParent() {
        long before = Tensor.liveCount();
        Tensor kept;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                Tensor tmp = Tensor.ones(2);
                kept = Scope.keep(tmp.mul(3.0));
            }
            assertFalse(kept.isClosed(), "kept out of the inner scope");
            assertArrayEquals(new float[] {3, 3}, kept.toFloatArray());
        }
        assertTrue(kept.isClosed(), "the outer scope owned it after keep");
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void runKeepsItsResultAndFreesTheRest() {
        long before = Tensor.liveCount();
        Tensor r = Scope.run(() -> Tensor.ones(2).add(1.0).mul(Tensor.ones(2)));
        assertEquals(before + 1, Tensor.liveCount());
        assertArrayEquals(new float[] {2, 2}, r.toFloatArray());
        r.close();
        List<Tensor> both = Scope.run(() -> List.of(Tensor.zeros(1), Tensor.ones(1)));
        assertEquals(before + 2, Tensor.liveCount());
        both.forEach(Tensor::close);
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void runKeepsOnlyWhatItsOwnScopeOwns() {
        try (Scope outer = Scope.open()) {
            Tensor keptInside, listedTwice, outers = Tensor.ones(1);
            try (Scope middle = Scope.open()) {
                keptInside = Scope.run(() -> Scope.keep(Tensor.ones(1)));   // kept by the body, then by run
                listedTwice = Scope.run(() -> {
                    Tensor t = Tensor.ones(1);
                    return List.of(t, t);
                }).getFirst();
                assertSame(outers, Scope.run(() -> outers), "a result an outer scope owns stays there");
            }
            assertTrue(keptInside.isClosed(), "one keep too many would have moved it past the middle scope");
            assertTrue(listedTwice.isClosed(), "listed twice, kept once: the middle scope owned it");
            assertFalse(outers.isClosed(), "run left the outer scope's tensor with the outer scope");
        }
    }

    @Test
    void keepAndDisownRunOnTheScopesThread() throws Exception {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.ones(1);
            Throwable[] thrown = new Throwable[2];
            Thread other = new Thread(() -> {
                try {
                    Scope.disown(t);
                } catch (Throwable e) {
                    thrown[0] = e;
                }
                try {
                    Scope.keep(t);
                } catch (Throwable e) {
                    thrown[1] = e;
                }
            });
            other.start();
            other.join();
            for (Throwable e : thrown) {
                assertInstanceOf(IllegalStateException.class, e);
                assertTrue(e.getMessage().contains("thread " + Thread.currentThread().getName()), e.getMessage());
            }
            assertEquals(1, s.size(), "the scope still owns it");
        }
    }

    @Test
    void disownedTensorsBelongToTheCaller() {
        Tensor t;
        try (Scope s = Scope.open()) {
            t = Scope.disown(Tensor.ones(1));
        }
        assertFalse(t.isClosed());
        t.close();
    }

    @Test
    void useAfterCloseThrowsAndCloseTwiceIsHarmless() {
        Tensor t = Tensor.ones(2, 2);
        assertArrayEquals(new long[] {2, 2}, t.shape()); // read now, so that what follows is the cached metadata
        assertEquals(DType.FLOAT32, t.dtype());
        assertEquals(Device.CPU, t.device());
        t.close();
        t.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.add(1.0));
        assertTrue(e.getMessage().contains("after close"), e.getMessage());
        assertThrows(IllegalStateException.class, t::toFloatArray);
        // metadata too, though it was read (and kept) before the close
        assertThrows(IllegalStateException.class, t::shape);
        assertThrows(IllegalStateException.class, t::dim);
        assertThrows(IllegalStateException.class, t::dtype);
        assertThrows(IllegalStateException.class, t::device);
        Tensor u = Tensor.ones(2);
        Tensor closed = Tensor.ones(2);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Tensor.cat(List.of(u, closed), 0));
        u.close();
    }

    @Test
    void scopesCloseInnermostFirst() {
        Scope outer = Scope.open();
        Scope inner = Scope.open();
        assertThrows(IllegalStateException.class, outer::close);
        inner.close();
        outer.close();
        assertNull(Scope.current());
    }

    @Test
    void closingAnOwnedTensorEarlyIsFine() {
        long before = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            for (int i = 0; i < 1000; i++) Tensor.ones(1).close(); // forces the scope to compact its list
            assertTrue(s.size() < 1000, "closed tensors are dropped from the scope's list");
        }
        assertEquals(before, Tensor.liveCount());
    }

    @Test
    void forgottenTensorsAreFreedByTheSafetyNetAndCounted() throws Exception {
        long leaked = Tensor.leakedCount();
        long live = Tensor.liveCount();
        for (int i = 0; i < 10; i++) Tensor.ones(4); // no scope, never closed
        assertEquals(live + 10, Tensor.liveCount());
        for (int i = 0; i < 100 && Tensor.leakedCount() < leaked + 10; i++) {
            System.gc();
            Thread.sleep(20);
        }
        // At least ours; garbage left by earlier tests may be collected in the same pass.
        assertTrue(Tensor.leakedCount() >= leaked + 10, "leaked " + (Tensor.leakedCount() - leaked));
        assertTrue(Tensor.liveCount() <= live, "live " + Tensor.liveCount() + " vs " + live);
    }
}
