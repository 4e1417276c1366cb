package dev.bbdiy.cli;

import dev.bbdiy.core.Version;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code bbdiy} command. */
@Command(
    name = "bbdiy",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    sortOptions = false,
    description = {
      "Backup and restore for Bitbucket Server and Data Center through the DIY Backup API.",
      "",
      "Exit codes: 0 success, 1 internal error, 2 usage or configuration, 3 Bitbucket refused or unreachable,"
          + " 4 drain timeout or Bitbucket's task failed, 5 a tool or provider failed, 6 verification failed,"
          + " 7 Bitbucket may still be locked, 8 a safety check refused, 9 backup not found, 130 interrupted."
    },
    subcommands = {
      BackupCommand.class,
      RestoreCommand.class,
      ListCommand.class,
      VerifyCommand.class,
      PruneCommand.class,
      StatusCommand.class,
      UnlockCommand.class,
      CancelCommand.class,
      ProvidersCommand.class,
      CheckCommand.class,
      DemoCommand.class,
      SimulateCommand.class,
      NodeCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Callable<Integer> {
  final PrintStream out;
  final PrintStream err;
  final Map<String, String> environment;
  final boolean terminal;
  /** Whether commands handle SIGTERM and Ctrl-C: only when this is the process ({@link #main}), not a library call. */
  final boolean handlesSignals;

  Main(PrintStream out, PrintStream err, Map<String, String> environment, boolean terminal) {
    this(out, err, environment, terminal, false);
  }

  Main(PrintStream out, PrintStream err, Map<String, String> environment, boolean terminal, boolean handlesSignals) {
    this.out = out;
    this.err = err;
    this.environment = environment;
    this.terminal = terminal;
    this.handlesSignals = handlesSignals;
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(out);
    return 2;
  }

  /** Runs the command line and exits with its exit code. */
  public static void main(String[] args) {
    System.exit(run(new Main(System.out, System.err, System.getenv(), System.console() != null, true), args));
  }

  /** Runs a command with the given output streams and returns its exit code; never exits the JVM. */
  public static int run(PrintStream out, PrintStream err, String... args) {
    return run(out, err, System.getenv(), false, args);
  }

  /** Runs a command with the given streams and environment; returns its exit code. */
  public static int run(PrintStream out, PrintStream err, Map<String, String> environment, boolean terminal,
      String... args) {
    return run(new Main(out, err, environment, terminal), args);
  }

  private static int run(Main main, String... args) {
    PrintStream out = main.out;
    PrintStream err = main.err;
    CommandLine cl = new CommandLine(main);
    cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      err.println("ERROR: unexpected failure: " + e);
      e.printStackTrace(err);
      return 1;
    });
    return cl.execute(args);
  }

  /** Prints the version of bbdiy. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"bbdiy " + Version.current(), "Java " + System.getProperty("java.version")};
    }
  }
}
