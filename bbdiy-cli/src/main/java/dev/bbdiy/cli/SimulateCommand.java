package dev.bbdiy.cli;

import dev.bbdiy.testkit.FakeBitbucketServer;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "simulate", description = {"Runs the Bitbucket simulator, to rehearse a configuration without"
    + " touching a real instance. Point bitbucket.url at it (user admin, password admin by default).",
    "Runs until Ctrl-C."})
final class SimulateCommand extends BaseCommand {
  @Option(names = "--port", description = "Port to listen on (default 7990).")
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

  @Override
  int execute() {
    List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port), "--user", user, "--password",
        password, "--drain", drain, "--version", version));
    if (contextPath != null) {
      args.add("--context-path");
      args.add(contextPath);
    }
    FakeBitbucketServer server = FakeBitbucketServer.run(args.toArray(new String[0]), main.out);
    try {
      if (runFor > 0) {
        Thread.sleep(runFor);
      } else {
        Thread.currentThread().join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      server.close();
    }
    return 0;
  }
}
