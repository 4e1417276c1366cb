package dev.bbdiy.cli;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.Settings;
import dev.bbdiy.simulator.FakeBitbucketServer;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "simulate", description = {"Runs the Bitbucket simulator, to rehearse a configuration without"
    + " touching a real instance. Point bitbucket.url at it (user admin, password admin by default).",
    "Runs until Ctrl-C or SIGTERM."})
final class SimulateCommand extends BaseCommand {
  @Option(names = "--port", description = "Port to listen on (default 7990; 0 picks a free one).")
  int port = 7990;

  @Option(names = "--context-path", description = "Context path, e.g. /bitbucket.")
  @Nullable String contextPath;

  @Option(names = "--user", description = "SYS_ADMIN user name (default admin).")
  String user = "admin";

  @Option(names = "--password", description = "Its password (default admin).")
  String password = "admin";

  @Option(names = "--drain", description = "How long draining takes (default 2s).")
  String drain = "2s";

  @Option(names = "--version-reported", description = "Bitbucket version it reports (default 8.19.1).")
  String version = "8.19.1";

  @Option(names = "--run-for", hidden = true, description = "Stop after this many milliseconds (tests).")
  long runFor;

  private volatile @Nullable Thread runner;

  @Override
  int execute() {
    if (port < 0 || port > 65535) {
      throw new BbdiyException(ErrorCode.USAGE, "--port must be from 0 to 65535, not " + port);
    }
    try {
      Settings.parseDuration(drain);
    } catch (IllegalArgumentException e) {
      throw new BbdiyException(ErrorCode.USAGE, "Bad value for --drain: " + e.getMessage());
    }
    List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port), "--user", user, "--password",
        password, "--drain", drain, "--version", version));
    if (contextPath != null) {
      args.add("--context-path");
      args.add(contextPath);
    }
    FakeBitbucketServer server;
    try {
      server = FakeBitbucketServer.run(args.toArray(new String[0]), main.out);
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof BindException) {
        throw new BbdiyException(ErrorCode.USAGE, "Cannot listen on port " + port + ": it is in use ("
            + e.getCause().getMessage() + "). Choose another with --port (0 picks a free one).");
      }
      throw e;
    } catch (IllegalArgumentException e) {
      throw new BbdiyException(ErrorCode.USAGE, "Cannot start the simulator: " + e.getMessage());
    }
    runner = Thread.currentThread();
    try {
      if (runFor > 0) {
        Thread.sleep(runFor);
      } else {
        Thread.currentThread().join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      runner = null;
      server.close();
    }
    return 0;
  }

  @Override
  void onTerminate() {
    Thread t = runner;
    if (t != null) {
      t.interrupt();
    }
  }
}
