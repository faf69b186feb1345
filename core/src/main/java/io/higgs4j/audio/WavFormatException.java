package io.higgs4j.audio;

import java.io.IOException;

/** A WAV file that is malformed or in a format {@link WavReader} does not read. The message names the file. */
public final class WavFormatException extends IOException {

    public WavFormatException(String source, String problem) {
        super(source + ": " + problem);
    }
}
