package dev.bbdiy.core.internal;

import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.Archiver;
import dev.bbdiy.api.spi.BackupSource;
import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.RunContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The provider instances of one operation: created when first needed, closed together at its end (every path),
 * sources before the archiver.
 */
public final class OperationProviders implements AutoCloseable {
  /** How long a phase waits for providers that ignore a cancellation before it goes on without them. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

  /** A home or database provider of this operation. */
  public record Source(String name, Artifact.Kind kind, Provider provider, BackupSource source) {
    /** Returns whether the provider declares {@code c}. */
    public boolean has(Capability c) {
      return provider.capabilities().contains(c);
    }
  }

  private final EngineSetup setup;
  private final Operation op;
  private @Nullable List<Source> sources;
  private @Nullable Archiver archiver;

  public OperationProviders(EngineSetup setup, Operation op) {
    this.setup = setup;
    this.op = op;
  }

  /** Returns the home and database sources of this operation. */
  public List<Source> sources() {
    if (sources == null) {
      List<Source> out = new ArrayList<>();
      if (setup.home() != null) {
        out.add(new Source(setup.home().name(), Artifact.Kind.HOME, setup.home(),
            setup.home().create(setup.context(setup.home()))));
      }
      if (setup.database() != null) {
        out.add(new Source(setup.database().name(), Artifact.Kind.DATABASE, setup.database(),
            setup.database().create(setup.context(setup.database()))));
      }
      sources = List.copyOf(out);
    }
    return sources;
  }

  /** Returns the archiver of this operation. */
  public Archiver archiver() {
    if (archiver == null) {
      archiver = setup.archiver().create(setup.context(setup.archiver()));
      op.archiveCompresses(archiver.compresses());
    }
    return archiver;
  }

  /** Returns the archiver's name, for contexts and messages. */
  public String archiverName() {
    return setup.archiver().name();
  }

  /** Returns the configured source that made {@code a}, if any. */
  public Optional<Source> sourceFor(Artifact a) {
    return sources().stream().filter(s -> s.kind() == a.kind() && s.name().equals(a.provider())).findFirst();
  }

  /**
   * Runs {@code call} for every source in parallel, one thread each, and returns the results by source name. The
   * first failure cancels the operation; this returns only when every thread has ended.
   */
  public <T> Map<String, T> parallel(Phase phase, SourceCall<T> call) {
    Map<String, Supplier<T>> tasks = new LinkedHashMap<>();
    for (Source s : sources()) {
      tasks.put(s.name(), () -> call.call(s, op.context(phase, s.name())));
    }
    return op.cancellation().interruptibly(() -> Parallel.run(phase.name().toLowerCase(Locale.ROOT), tasks,
        op.cancellation(), STOP_TIMEOUT));
  }

  /** One call of a phase on one source. */
  public interface SourceCall<T> {
    T call(Source source, RunContext context);
  }

  @Override
  public void close() {
    if (sources != null) {
      for (Source s : sources) {
        release(s.name(), s.source());
      }
    }
    if (archiver != null) {
      release(setup.archiver().name(), archiver);
    }
  }

  private void release(String name, AutoCloseable c) {
    try {
      c.close();
    } catch (Exception | LinkageError e) {
      op.events().warning(name, "could not release what it held: " + (e instanceof BbdiyException
          ? e.getMessage() : e.toString()));
    }
  }
}
