package io.higgs4j.trainer.prepare;

import java.nio.file.Path;

/** One recording and its transcript; name (unique per audio file, {@link ClipSources#codesName}) names its codes file. */
public record Clip(Path audio, String text, String speaker, String name) {}
