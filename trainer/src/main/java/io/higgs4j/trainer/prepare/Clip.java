package io.higgs4j.trainer.prepare;

import java.nio.file.Path;

/** One recording and its transcript; name is unique within its speaker and names its codes file. */
public record Clip(Path audio, String text, String speaker, String name) {}
