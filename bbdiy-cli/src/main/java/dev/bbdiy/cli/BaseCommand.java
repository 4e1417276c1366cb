package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.core.MaintenanceClient;
import dev.bbdiy.core.ProviderRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** What every command shares: configuration options, output modes and error reporting with exit codes. */
abstract class BaseCommand implements Callable<Integer> {
  @ParentCommand Main main;

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

  @Option(names = {"-q", "--quiet"}, description = "Print only warnings, errors and the result.")
  boolean quiet;

  @Option(names = {"-v", "--verbose"}, description = "Print more, and the stack trace of errors.")
  boolean verbose;

  Output output;
  private @Nullable Config config;

  @Override
  public final Integer call() {
    output = new Output(main.out, main.err, json, quiet, verbose, main.terminal && !json);
    try {
      return execute();
    } catch (BbdiyException e) {
      return fail(e);
    } catch (RuntimeException e) {
      return fail(new BbdiyException(ErrorCode.INTERNAL, "Unexpected failure: " + e, e));
    }
  }

  /** Runs the command; returns the exit code. */
  abstract int execute();

  /** Loads and validates the configuration (once). */
  Config config() {
    if (config == null) {
      config = Config.load(configFile, varsFile, overrides, main.environment, ProviderRegistry.load());
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

  EngineFactory factory() {
    EngineFactory f = new EngineFactory(config());
    // The URL as the client uses it, checked first: never a password someone wrote into it.
    f.url().ifPresent(url -> output.prefix(MaintenanceClient.checkedBaseUrl(url)));
    return f;
  }

  int fail(BbdiyException e) {
    if (json) {
      Map<String, Object> error = new LinkedHashMap<>();
      error.put("code", e.code().name());
      error.put("exitCode", e.code().exitCode());
      error.put("retryable", e.retryable());
      error.put("message", e.getMessage());
      main.out.println(Json.write(Map.of("error", error)));
    }
    output.error(e.getMessage());
    if (verbose || e.code() == ErrorCode.INTERNAL) {
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      main.err.print(trace);
    }
    return e.code().exitCode();
  }
}
