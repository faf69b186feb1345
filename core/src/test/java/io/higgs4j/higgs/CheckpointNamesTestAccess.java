package io.higgs4j.higgs;

import java.nio.file.Path;

/** Lets tests of other packages find the released checkpoint's metadata as CheckpointNamesTest does. */
public final class CheckpointNamesTestAccess {
    private CheckpointNamesTestAccess() {}

    public static Path fixture() {
        return CheckpointNamesTest.fixture();
    }
}
