package dev.bbdiy.core.internal;

import dev.bbdiy.api.BackupEvent;
import dev.bbdiy.api.BackupListener;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.ProgressReporter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Delivers events to a listener one at a time, keeps the phase timings and warnings of a run, and enforces the
 * listener's ordering contract (progress only inside its phase).
 */
public final class EventSink {
  private static final long PROGRESS_INTERVAL_NANOS = 100_000_000L;

  private final BackupListener listener;
  private final Clock clock;
  private final Map<Phase, Duration> phases = new EnumMap<>(Phase.class);
  private final List<String> warnings = new ArrayList<>();
  private final Map<String, Long> lastProgress = new HashMap<>();
  private @Nullable Phase current;
  private @Nullable Instant currentStart;

  public EventSink(BackupListener listener, Clock clock) {
    this.listener = listener;
    this.clock = clock;
  }

  public Clock clock() {
    return clock;
  }

  public Instant now() {
    return clock.instant();
  }

  /** Delivers an event; a throwing listener is ignored. */
  public synchronized void emit(BackupEvent event) {
    try {
      listener.onEvent(event);
    } catch (RuntimeException ignored) {
      // The contract says listeners must not throw; if one does, the backup must not suffer.
    }
  }

  /** Runs {@code body} as {@code phase}, emitting its start and finish and recording its duration. */
  public <T> T phase(Phase phase, Supplier<T> body) {
    Instant start = startPhase(phase);
    String failure = null;
    try {
      return body.get();
    } catch (RuntimeException | Error e) {
      failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw e;
    } finally {
      finishPhase(phase, start, failure);
    }
  }

  /** Runs {@code body} as {@code phase}. */
  public void phase(Phase phase, Runnable body) {
    phase(phase, () -> {
      body.run();
      return null;
    });
  }

  /**
   * Emits the start of a phase whose end {@link #finishPhase} emits, for a phase that must not be cut short by an
   * exception (the unlock).
   */
  public synchronized Instant startPhase(Phase phase) {
    Instant start = clock.instant();
    current = phase;
    currentStart = start;
    emit(new BackupEvent.PhaseStarted(start, phase));
    return start;
  }

  /** Ends a phase begun with {@link #startPhase}, recording its duration. */
  public synchronized void finishPhase(Phase phase, Instant start, @Nullable String failure) {
    Instant end = clock.instant();
    Duration took = Duration.between(start, end);
    phases.merge(phase, took, Duration::plus);
    current = null;
    currentStart = null;
    emit(new BackupEvent.PhaseFinished(end, phase, took, failure));
  }

  /** Records a warning and emits it. */
  public synchronized void warning(String source, String message) {
    warnings.add(source.equals("bbdiy") ? message : source + ": " + message);
    emit(new BackupEvent.Warning(clock.instant(), source, message));
  }

  /** Emits progress of the current phase, at most ten times a second per source unless it is final. */
  public synchronized void progress(String source, String message, long done, long total, String unit) {
    if (current == null) {
      return;
    }
    long now = System.nanoTime();
    String key = source + "/" + unit;
    Long last = lastProgress.get(key);
    boolean last100 = total > 0 && done >= total;
    if (last != null && now - last < PROGRESS_INTERVAL_NANOS && !last100) {
      return;
    }
    lastProgress.put(key, now);
    emit(new BackupEvent.Progress(clock.instant(), current, source, message, done, total, unit));
  }

  /** Returns a reporter that tags what it reports with {@code source}. */
  public ProgressReporter reporter(String source) {
    return new ProgressReporter() {
      @Override
      public void message(String message) {
        EventSink.this.progress(source, message, -1, -1, "");
      }

      @Override
      public void progress(String message, long done, long total, String unit) {
        EventSink.this.progress(source, message, done, total, unit);
      }

      @Override
      public void warning(String message) {
        EventSink.this.warning(source, message);
      }
    };
  }

  public synchronized Map<Phase, Duration> phases() {
    return Map.copyOf(phases);
  }

  public synchronized List<String> warnings() {
    return List.copyOf(warnings);
  }
}
