package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.BackupEngine;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
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

  @Option(names = {"-q", "--quiet"}, description = "Print only warnings, errors and the one result line.")
  boolean quiet;

  @Option(names = {"-v", "--verbose"}, description = "Print more, and the stack trace of errors.")
  boolean verbose;

  @SuppressWarnings("NullAway.Init") // set first thing in call()
  Output output;
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
    output = new Output(main.out, main.err, json, quiet, verbose, main.terminal && !json);
    Thread hook = main.handlesSignals ? new Thread(this::onShutdown, "bbdiy-shutdown") : null;
    if (hook != null) {
      Runtime.getRuntime().addShutdownHook(hook);
    }
    try {
      return execute();
    } catch (BbdiyException e) {
      return fail(e);
    } catch (RuntimeException e) {
      return fail(new BbdiyException(ErrorCode.INTERNAL, "Unexpected failure: " + e, e));
    } finally {
      output.flush();
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
        output = new Output(main.out, main.err, json, quiet, true, main.terminal && !json);
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
    // The URL as the client uses it, checked first: never a password someone wrote into it.
    f.url().ifPresent(url -> output.prefix(MaintenanceClient.checkedBaseUrl(url)));
    return f;
  }

  /** Returns an engine for this command, cancelled when the process is asked to end. */
  BackupEngine engine(EngineFactory factory, boolean resolveOwner) {
    return watch(factory.engine(output, resolveOwner));
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
