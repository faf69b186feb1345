package io.higgs4j.trainer;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The bin/higgs4j command line. */
@Command(name = "higgs4j", mixinStandardHelpOptions = true, version = "higgs4j 0.1.0-SNAPSHOT",
        description = "Fine-tune Higgs Audio v2 with LoRA on libtorch, from Java.",
        subcommands = {DoctorCommand.class, ParamsCommand.class, ForwardCommand.class, MergeCommand.class,
                ValidateDataCommand.class, TrainCommand.class, LaunchCommand.class, EncodeAudioCommand.class,
                DecodeAudioCommand.class, GenerateCommand.class, PrepareDataCommand.class})
public final class Main implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with failures reported as one line naming the command (HIGGS4J_DEBUG=1 adds the trace). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.getSubcommands().get("launch").setStopAtPositional(true); // launch ... train --its --options
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("higgs4j " + cmd.getCommandName() + ": " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            if (System.getenv("HIGGS4J_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            cmd.getErr().flush();
            return 1;
        });
        return cl;
    }
}
