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
        int rc;
        try {
            rc = commandLine().execute(args);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            // libtorch failed to load in a class's static initializer: an Error, which picocli's handler never sees
            System.err.println("higgs4j: " + initializerFailure(e));
            if (System.getenv("HIGGS4J_DEBUG") != null) e.printStackTrace();
            rc = 1;
        }
        System.exit(rc);
    }

    /** The reason under a failed class initialisation (the first time, or "Could not initialize class" after). */
    static String initializerFailure(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof ExceptionInInitializerError || cause instanceof NoClassDefFoundError) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return describe(cause);
    }

    /** The command line, with failures reported as one line naming the command (HIGGS4J_DEBUG=1 adds the trace). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.getSubcommands().get("launch").setStopAtPositional(true); // launch ... train --its --options
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("higgs4j " + cmd.getCommandName() + ": " + describe(ex));
            if (System.getenv("HIGGS4J_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            cmd.getErr().flush();
            return 1;
        });
        return cl;
    }

    /**
     * The message of a failure. The JDK's file-system exceptions say only the path ("/tmp/out"); these get what went
     * wrong with it too.
     */
    static String describe(Throwable ex) {
        if (ex instanceof java.nio.file.FileSystemException f) {
            String what = switch (f) {
                case java.nio.file.NoSuchFileException e -> "does not exist (or a folder on its path does not)";
                // createDirectories(a/b) where a is a file says only "a"
                case java.nio.file.FileAlreadyExistsException e -> f.getFile() != null && java.nio.file.Files.isRegularFile(java.nio.file.Path.of(f.getFile()))
                        ? "already exists as a file" : "already exists";
                case java.nio.file.NotDirectoryException e -> "is not a directory";
                case java.nio.file.DirectoryNotEmptyException e -> "is a directory that is not empty";
                case java.nio.file.AccessDeniedException e -> "permission denied";
                default -> f.getReason() != null ? f.getReason() : "cannot be used";
            };
            String file = f.getFile() != null ? f.getFile() : "a file";
            return file + (f.getOtherFile() != null ? " (-> " + f.getOtherFile() + ")" : "") + ": " + what
                    + (f.getReason() != null && !f.getReason().equals(what) && !(f.getClass() == java.nio.file.FileSystemException.class)
                    ? " (" + f.getReason() + ")" : "");
        }
        return ex.getMessage() != null ? ex.getMessage() : ex.toString();
    }
}
