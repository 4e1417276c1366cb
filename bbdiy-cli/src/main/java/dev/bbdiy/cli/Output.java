package dev.bbdiy.cli;

import org.jspecify.annotations.Nullable;
import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.Phase;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * How a command talks: human lines (without the instance URL that Atlassian's scripts put before each line: a
 * command works on one instance), a progress line redrawn in place on a terminal, only warnings, errors and the one
 * result line with {@code --quiet}, and with {@code --json} (or {@code --progress jsonl}) the lines go to standard
 * error while standard output carries what machines read.
 * No line ever shows the user info ({@code user:password@}) of a URL.
 */
final class Output implements BackupListener {
  private final PrintStream out;
  private final PrintStream err;
  private final boolean json;
  private final boolean quiet;
  private final boolean verbose;
  private final boolean terminal;
  private boolean progressShown;

  Output(PrintStream out, PrintStream err, boolean json, boolean quiet, boolean verbose, boolean terminal) {
    this.out = out;
    this.err = err;
    this.json = json;
    this.quiet = quiet;
    this.verbose = verbose;
    this.terminal = terminal;
  }

  boolean json() {
    return json;
  }

  boolean verbose() {
    return verbose;
  }

  /** The stream for human lines: stdout, or stderr when stdout carries JSON. */
  PrintStream human() {
    return json ? err : out;
  }

  /** Prints a line for humans unless quiet. */
  void info(String line) {
    if (!quiet) {
      clearProgress();
      human().println(Redaction.urls(line));
    }
  }

  /** Prints the one line that says how a command ended, even when quiet. */
  void result(String line) {
    clearProgress();
    human().println(Redaction.urls(line));
  }

  /** Prints a warning, even when quiet. */
  void warn(String line) {
    clearProgress();
    human().println(Redaction.urls("WARN: " + line));
  }

  /** Prints an error for humans, even when quiet. */
  void error(String line) {
    clearProgress();
    err.println(Redaction.urls("ERROR: " + line));
  }

  /** Prints the JSON document of a command. */
  void json(Object value) {
    out.println(Json.write(value));
  }

  /** Prints data a command was asked for (a list, a status): on stdout, or stderr when stdout carries JSON. */
  void data(String line) {
    human().println(Redaction.urls(line));
  }

  /** Flushes both streams, before a signal ends the process. */
  void flush() {
    out.flush();
    err.flush();
  }

  @Override
  public void onEvent(BackupEvent e) {
    if (e instanceof BackupEvent.PhaseStarted) {
      Phase p = ((BackupEvent.PhaseStarted) e).phase();
      info(describe(p));
    } else if (e instanceof BackupEvent.PhaseFinished) {
      BackupEvent.PhaseFinished f = (BackupEvent.PhaseFinished) e;
      if (verbose && f.succeeded()) {
        info("  " + f.phase().name().toLowerCase(Locale.ROOT) + " took " + seconds(f.took()));
      }
    } else if (e instanceof BackupEvent.Locked) {
      info("Locked for maintenance (owner: " + ((BackupEvent.Locked) e).owner() + ")");
    } else if (e instanceof BackupEvent.Drained) {
      info("Drained after " + seconds(((BackupEvent.Drained) e).waited()));
    } else if (e instanceof BackupEvent.Unlocked) {
      BackupEvent.Unlocked u = (BackupEvent.Unlocked) e;
      if (u.released()) {
        info("Unlocked: Bitbucket was locked for " + seconds(u.lockWindow()));
      } else {
        warn("the unlock FAILED: Bitbucket may still be locked (see the error below)");
      }
    } else if (e instanceof BackupEvent.Warning) {
      BackupEvent.Warning w = (BackupEvent.Warning) e;
      warn((w.source().equals("bbdiy") ? "" : w.source() + ": ") + w.message());
    } else if (e instanceof BackupEvent.Progress) {
      progress((BackupEvent.Progress) e);
    }
  }

  private void progress(BackupEvent.Progress p) {
    if (quiet) {
      return;
    }
    boolean measurable = p.total() > 0 && p.done() >= 0;
    if (terminal && (measurable || p.done() >= 0)) {
      String bar = measurable ? bar(p.done(), p.total()) + " " : "";
      String amount = p.unit().equals("bytes") ? mib(p.done()) : p.done() + (p.total() > 0 ? "/" + p.total() : "");
      String line = Redaction.urls("\r  " + bar + p.source() + ": " + p.message() + " (" + amount + ")");
      human().print(line.length() > 140 ? line.substring(0, 140) : line + "\u001b[K");
      human().flush();
      progressShown = true;
    } else if (p.done() < 0 || verbose) {
      info("  " + p.source() + ": " + p.message());
    }
  }

  private void clearProgress() {
    if (progressShown) {
      human().print("\r\u001b[K");
      progressShown = false;
    }
  }

  private static String bar(long done, long total) {
    int width = 20;
    int filled = (int) Math.min(width, done * width / Math.max(1, total));
    return "[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + Math.min(100, done * 100 / total) + "%";
  }

  static String describe(Phase p) {
    switch (p) {
      case PREFLIGHT:
        return "Checking configuration, tools and credentials";
      case PREPARE:
        return "Preparing while Bitbucket is live";
      case LOCK:
        return "Locking Bitbucket and waiting for it to drain";
      case CAPTURE:
        return "Capturing while Bitbucket is locked";
      case UNLOCK:
        return "Unlocking Bitbucket";
      case COMPLETE:
        return "Completing while Bitbucket is live again";
      case ARCHIVE:
        return "Archiving";
      case VERIFY:
        return "Verifying against the manifest";
      case RETENTION:
        return "Applying retention";
      case EXTRACT:
        return "Extracting and verifying";
      case RESTORE_DATABASE:
        return "Restoring the database";
      case RESTORE_HOME:
        return "Finishing the home (ownership, stale git locks)";
      default:
        return p.name();
    }
  }

  static String seconds(@Nullable Duration d) {
    if (d == null) {
      return "-";
    }
    return String.format(Locale.ROOT, "%.2fs", d.toNanos() / 1e9);
  }

  static String mib(long bytes) {
    if (bytes < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
    if (bytes < 1024L * 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }
    return String.format(Locale.ROOT, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  }
}
