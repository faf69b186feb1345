package io.higgs4j.trainer;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The bin/higgs4j command line. */
@Command(name = "higgs4j", mixinStandardHelpOptions = true, version = "higgs4j 0.1.0-SNAPSHOT",
        description = "Fine-tune Higgs Audio v2 with LoRA on libtorch, from Java.",
        subcommands = {DoctorCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
