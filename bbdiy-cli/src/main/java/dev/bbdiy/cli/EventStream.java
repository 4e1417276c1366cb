package dev.bbdiy.cli;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.Phase;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON-lines event stream of {@code --progress jsonl} and {@code --progress-file}: one JSON object per line
 * for each engine event, flushed line by line, for tools that follow a run. Version 1 of the schema (the README's
 * "Progress stream" section): every line has {@code v} (1), {@code type} and {@code at} (ISO-8601); the other
 * fields depend on the type. Fields are only ever added within a version; a consumer ignores what it does not
 * know. Tokens never appear (the events carry none), and URLs lose their user info like every other output.
 */
final class EventStream implements BackupListener {
  static final int VERSION = 1;

  private final PrintStream out;

  EventStream(PrintStream out) {
    this.out = out;
  }

  @Override
  public void onEvent(BackupEvent e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("v", VERSION);
    m.put("type", type(e));
    m.put("at", e.at().toString());
    if (e instanceof BackupEvent.OperationStarted) {
      BackupEvent.OperationStarted s = (BackupEvent.OperationStarted) e;
      m.put("operation", s.operation());
      m.put("backupId", s.backupId() == null ? null : s.backupId().value());
    } else if (e instanceof BackupEvent.PhaseStarted) {
      m.put("phase", name(((BackupEvent.PhaseStarted) e).phase()));
    } else if (e instanceof BackupEvent.PhaseFinished) {
      BackupEvent.PhaseFinished f = (BackupEvent.PhaseFinished) e;
      m.put("phase", name(f.phase()));
      m.put("seconds", f.took().toNanos() / 1e9);
      m.put("failure", f.failure());
    } else if (e instanceof BackupEvent.Locked) {
      m.put("owner", ((BackupEvent.Locked) e).owner());
    } else if (e instanceof BackupEvent.Drained) {
      m.put("waitedSeconds", ((BackupEvent.Drained) e).waited().toNanos() / 1e9);
    } else if (e instanceof BackupEvent.Unlocked) {
      BackupEvent.Unlocked u = (BackupEvent.Unlocked) e;
      m.put("released", u.released());
      m.put("lockWindowSeconds", u.lockWindow().toNanos() / 1e9);
    } else if (e instanceof BackupEvent.Progress) {
      BackupEvent.Progress p = (BackupEvent.Progress) e;
      m.put("phase", name(p.phase()));
      m.put("source", p.source());
      m.put("message", p.message());
      m.put("done", p.done());
      m.put("total", p.total());
      m.put("unit", p.unit());
    } else if (e instanceof BackupEvent.Warning) {
      BackupEvent.Warning w = (BackupEvent.Warning) e;
      m.put("source", w.source());
      m.put("message", w.message());
    } else if (e instanceof BackupEvent.OperationFinished) {
      BackupEvent.OperationFinished f = (BackupEvent.OperationFinished) e;
      m.put("operation", f.operation());
      m.put("seconds", f.took().toNanos() / 1e9);
      m.put("succeeded", f.succeeded());
      m.put("failure", f.failure());
      m.put("code", f.code() == null ? null : f.code().name());
      m.put("exitCode", f.code() == null ? 0 : f.code().exitCode());
    }
    String line = Json.line(m);
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }

  static String type(BackupEvent e) {
    if (e instanceof BackupEvent.OperationStarted) {
      return "operation-started";
    } else if (e instanceof BackupEvent.PhaseStarted) {
      return "phase-started";
    } else if (e instanceof BackupEvent.PhaseFinished) {
      return "phase-finished";
    } else if (e instanceof BackupEvent.Locked) {
      return "locked";
    } else if (e instanceof BackupEvent.Drained) {
      return "drained";
    } else if (e instanceof BackupEvent.Unlocked) {
      return "unlocked";
    } else if (e instanceof BackupEvent.Progress) {
      return "progress";
    } else if (e instanceof BackupEvent.Warning) {
      return "warning";
    }
    return "operation-finished";
  }

  private static String name(Phase p) {
    return p.name().toLowerCase(Locale.ROOT);
  }
}
