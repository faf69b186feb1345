package io.higgs4j.higgs;

import java.nio.file.Path;

/** Lets tests of other packages find shared/fixtures/higgs-audio-v2-3b as CheckpointNamesTest does. */
public final class CheckpointNamesTestAccess {
    private CheckpointNamesTestAccess() {}

    public static Path fixture() {
        return CheckpointNamesTest.fixture();
    }
}
