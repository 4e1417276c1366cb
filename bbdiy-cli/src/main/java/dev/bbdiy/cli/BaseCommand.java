package dev.bbdiy.cli;

import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * What every command shares: configuration options, output modes, error reporting with exit codes, and what
 * happens on SIGTERM and Ctrl-C.
 *
 * <p>When the process is asked to end while a command runs, the shutdown hook cancels the command's engine (and
 * any operation it starts afterwards), then holds the JVM until the command has cleaned up and printed how it
 * ended (its error line, and with {@code --json} its JSON document), for at most {@link #SHUTDOWN_GRACE}. If the
 * command has still not ended by then, the hook prints the error itself.
 */
abstract class BaseCommand implements Callable<Integer> {
  /** How long a command asked to end may take to clean up (unlock Bitbucket) and report. */
  static final Duration SHUTDOWN_GRACE = Duration.ofMinutes(3);
  static final String TERMINATED = "the process received a termination signal (SIGTERM or Ctrl-C)";

  @ParentCommand Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Configuration file (properties).")
  @Nullable Path configFile;

  @Option(names = "--vars-file", paramLabel = "FILE",
      description = "Atlassian's bitbucket.diy-backup.vars.sh; read with bash, as their scripts do.")
  @Nullable Path varsFile;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE",
      description = "Sets a configuration key, overriding the files and the environment.")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--json", description = "Print one JSON document on standard output; lines go to standard error.")
  boolean json;

  @Option(names = "--progress", paramLabel = "FORMAT", description = "jsonl: print the run's events on standard"
      + " output, one JSON object per line (schema in the README); lines for humans go to standard error.")
  @Nullable String progress;

  @Option(names = "--progress-file", paramLabel = "FILE", description = "Append the run's events to FILE as JSON"
      + " lines (a file or a named pipe), as --progress jsonl prints them.")
  @Nullable Path progressFile;

  @Option(names = {"-q", "--quiet"}, description = "Print only warnings, errors and the one result line.")
  boolean quiet;

  @Option(names = {"-v", "--verbose"}, description = "Print more, and the stack trace of errors.")
  boolean verbose;

  @SuppressWarnings("NullAway.Init") // set first thing in call()
  Output output;
  private @Nullable PrintStream progressStream;
  private RunState.@Nullable Recorder recorder;
  private @Nullable Config config;
  private Plugins.@Nullable Loaded plugins;

  private final CountDownLatch finished = new CountDownLatch(1);
  private final Object reporting = new Object();
  private boolean reported;
  private volatile boolean terminating;
  private volatile @Nullable BackupEngine engine;
  /** The thread loading the configuration, which may be waiting for a vars file. */
  private volatile @Nullable Thread loading;

  @Override
  public final Integer call() {
    output = newOutput(verbose);
    Thread hook = main.handlesSignals ? new Thread(this::onShutdown, "bbdiy-shutdown") : null;
    if (hook != null) {
      Runtime.getRuntime().addShutdownHook(hook);
    }
    try {
      openProgress();
      return execute();
    } catch (BbdiyException e) {
      return fail(e);
    } catch (RuntimeException e) {
      return fail(new BbdiyException(ErrorCode.INTERNAL, "Unexpected failure: " + e, e));
    } finally {
      RunState.Recorder r = recorder;
      if (r != null) {
        r.clear();
      }
      output.flush();
      PrintStream p = progressStream;
      if (p != null && p != main.out) {
        p.close();
      }
      finished.countDown();
      if (hook != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook runs: it is waiting for the latch counted down above
        }
      }
    }
  }

  /** Whether the events go to standard output as JSON lines, which moves the lines for humans to stderr. */
  private boolean progressOnStdout() {
    return progress != null;
  }

  private Output newOutput(boolean verbose) {
    boolean machine = json || progressOnStdout();
    return new Output(main.out, main.err, machine, quiet, verbose, main.terminal && !machine);
  }

  /** Checks the progress options and opens the stream they name. */
  private void openProgress() {
    if (progress != null && !progress.equals("jsonl")) {
      throw new BbdiyException(ErrorCode.USAGE, "--progress takes 'jsonl' (JSON lines), not '" + progress + "'");
    }
    if (progress != null && json) {
      throw new BbdiyException(ErrorCode.USAGE, "--progress jsonl and --json both print on standard output: write"
          + " the events to a file with --progress-file FILE, or leave out one of them");
    }
    if (progress != null && progressFile != null) {
      throw new BbdiyException(ErrorCode.USAGE, "Give either --progress jsonl (standard output) or --progress-file");
    }
    if (progress != null) {
      progressStream = main.out;
    } else if (progressFile != null) {
      try {
        progressStream = new PrintStream(Files.newOutputStream(progressFile, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND, StandardOpenOption.WRITE), true, StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        throw BbdiyException.configuration("Cannot open the progress file " + progressFile + ": " + e.getMessage()
            + ". Give a path in a directory this user can write.");
      }
    }
  }

  /** The listener an engine of this command reports to: the output, the progress stream, the run state file. */
  BackupListener listener(EngineFactory factory) {
    return listener(factory.workDir().resolve(".bbdiy"));
  }

  /** The listener for an engine whose run state goes to {@code stateDir}, or nowhere if null. */
  BackupListener listener(@Nullable Path stateDir) {
    List<BackupListener> all = new ArrayList<>();
    all.add(output);
    PrintStream p = progressStream;
    if (p != null) {
      all.add(new EventStream(p));
    }
    if (stateDir != null) {
      RunState.Recorder r = new RunState.Recorder(stateDir, w -> output.warn(w));
      recorder = r;
      all.add(r);
    }
    return event -> {
      for (BackupListener l : all) {
        l.onEvent(event);
      }
    };
  }

  /** Runs the command; returns the exit code. */
  abstract int execute();

  /** Loads and validates the configuration (once). */
  Config config() {
    if (config == null) {
      ProviderRegistry registry = plugins().registry();
      loading = Thread.currentThread();
      try {
        config = Config.load(configFile, varsFile, overrides, main.environment, registry);
      } finally {
        loading = null;
      }
      if (config.group("output").bool(CoreKeys.VERBOSE) && !verbose) {
        verbose = true;
        output = newOutput(true);
      }
      for (String w : config.warnings()) {
        output.warn(w);
      }
    }
    return config;
  }

  /**
   * Loads the built-in providers and the plugins (once), and warns about every plugin jar or provider that could
   * not be loaded, before the configuration is read: an error in it must not hide why a provider is missing.
   */
  Plugins.Loaded plugins() {
    if (plugins == null) {
      String configured = Config.pluginsDir(configFile, overrides, main.environment);
      plugins = Plugins.load(Plugins.directories(configured),
          configured == null || configured.isBlank() ? null : Path.of(configured.trim()));
      for (String w : plugins.warnings()) {
        output.warn(w);
      }
      for (String e : plugins.registry().loadErrors()) {
        output.warn(e);
      }
    }
    return plugins;
  }

  EngineFactory factory() {
    EngineFactory f = new EngineFactory(config());
    // Refuses a URL with a password written into it before anything uses it. The lines carry no URL prefix: a
    // command works on one instance, and its first line names it.
    f.url().ifPresent(MaintenanceClient::checkedBaseUrl);
    return f;
  }

  /** Returns an engine for this command, cancelled when the process is asked to end. */
  BackupEngine engine(EngineFactory factory, boolean resolveOwner) {
    return watch(factory.engine(listener(factory), resolveOwner));
  }

  /** Cancels {@code e}'s operations when the process is asked to end; refuses to start if it already is. */
  BackupEngine watch(BackupEngine e) {
    this.engine = e;
    if (terminating) {
      throw new BbdiyException(ErrorCode.INTERRUPTED, "Nothing was done: " + TERMINATED);
    }
    return e;
  }

  /** What a command does when the process is asked to end, besides cancelling its engine; called repeatedly. */
  void onTerminate() {}

  private void onShutdown() {
    terminating = true;
    long deadline = System.nanoTime() + SHUTDOWN_GRACE.toNanos();
    try {
      do {
        BackupEngine e = engine;
        if (e != null) {
          e.cancel(TERMINATED); // again and again: an operation that starts later is cancelled too
        }
        Thread l = loading;
        if (l != null) {
          l.interrupt(); // stops a vars file that is still running
        }
        onTerminate();
        if (System.nanoTime() > deadline) {
          report(new BbdiyException(ErrorCode.INTERRUPTED, "bbdiy was asked to end and its command did not finish"
              + " cleaning up within " + SHUTDOWN_GRACE.toMinutes() + " minutes; if Bitbucket stays locked, run"
              + " 'bbdiy unlock --recover'"));
          return;
        }
      } while (!finished.await(50, TimeUnit.MILLISECONDS));
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  int fail(BbdiyException e) {
    report(e);
    return e.code().exitCode();
  }

  /** Prints how the command failed, once: its error line, and with --json its JSON document. */
  private void report(BbdiyException e) {
    synchronized (reporting) {
      if (reported) {
        return;
      }
      reported = true;
      if (json) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", e.code().name());
        error.put("exitCode", e.code().exitCode());
        error.put("retryable", e.retryable());
        error.put("message", e.getMessage());
        main.out.println(Json.write(Map.of("error", error)));
      }
      output.error(String.valueOf(e.getMessage()));
      if (verbose || e.code() == ErrorCode.INTERNAL) {
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        main.err.print(Redaction.urls(trace.toString()));
      }
      output.flush();
    }
  }
}
