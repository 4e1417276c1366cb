package dev.bbdiy.simulator;

import dev.bbdiy.simulator.FakeBitbucketServer.Builder;
import dev.bbdiy.simulator.FakeBitbucketServer.EventType;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/** The simulator run standalone: its command line options, and the events it prints. */
final class SimulatorCommandLine {
  private SimulatorCommandLine() {}

  static FakeBitbucketServer run(String[] args, PrintStream out) {
    Builder b = FakeBitbucketServer.builder().port(7990);
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : "";
      switch (args[i]) {
        case "--port":
          b.port(Integer.parseInt(value));
          i++;
          break;
        case "--context-path":
          b.contextPath(value);
          i++;
          break;
        case "--user":
          b.admin(value, b.adminPassword);
          i++;
          break;
        case "--password":
          b.admin(b.adminUser, value);
          i++;
          break;
        case "--drain":
          b.drainTime(parseDuration(value));
          i++;
          break;
        case "--version":
          b.version(value);
          i++;
          break;
        default:
          throw new IllegalArgumentException("Unknown option " + args[i]
              + "; use --port, --context-path, --user, --password, --drain, --version");
      }
    }
    FakeBitbucketServer server = b.start();
    out.println("Bitbucket simulator listening on " + server.url() + " (SYS_ADMIN user '" + b.adminUser
        + "'; drain time " + b.drainTime.toMillis() + " ms)");
    server.onEvent(e -> {
      if (e.type() != EventType.REQUEST) {
        out.println(e);
      }
    });
    return server;
  }

  private static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    if (t.endsWith("s")) {
      return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
    }
    if (t.endsWith("m")) {
      return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    return Duration.ofSeconds(Long.parseLong(t));
  }
}
