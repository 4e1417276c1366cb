package dev.bbdiy.copy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Lists the directories a depth-first walk is about to enter on worker threads, ahead of the walk: listing and
 * stat calls are latency bound (a network file system answers each in a round trip), so a walk that waits for one
 * directory at a time is as slow as the file system's latency times the number of directories.
 *
 * <p>The walk stays single-threaded and in order: it asks for a directory's children with {@link #children}, which
 * returns what a worker already listed (or lists it then). The directories still to come are kept in the walk's
 * order, and only the next {@code window} of them are listed ahead, so memory stays what the walk itself holds (the
 * pending siblings along the current path), whatever the size of the tree.
 *
 * @param <C> a listed child
 */
final class ListingAhead<C> implements AutoCloseable {
  /** Lists one directory, its children sorted in the walk's order. */
  interface Lister<C> {
    List<C> list(Path dir, String rel) throws IOException;
  }

  /** What the walk needs to know of a child to follow it. */
  interface Shape<C> {
    /** Returns whether the walk will enter {@code child} with {@link #children}. */
    boolean isDirectory(C child);

    Path path(C child);

    String rel(C child);
  }

  /** A directory the walk has yet to enter, and its listing if one was started. */
  private static final class Upcoming<C> {
    final Path dir;
    final String rel;
    @Nullable Future<List<C>> listing;

    Upcoming(Path dir, String rel) {
      this.dir = dir;
      this.rel = rel;
    }
  }

  private final Lister<C> lister;
  private final Shape<C> shape;
  private final int window;
  private final @Nullable ExecutorService pool;
  /** The directories the walk will enter next, in its order. */
  private final ArrayDeque<Upcoming<C>> upcoming = new ArrayDeque<>();

  /**
   * @param threads worker threads; with fewer than two, every directory is listed by the walk itself
   */
  ListingAhead(Lister<C> lister, Shape<C> shape, int threads) {
    this.lister = lister;
    this.shape = shape;
    this.window = Math.max(1, threads) * 4;
    this.pool = threads < 2 ? null : Executors.newFixedThreadPool(threads, daemons());
  }

  /**
   * Returns the children of {@code dir}. Called by the walk for every directory it enters; a directory the walk
   * did not announce (the first, or one it enters out of turn) is listed on the spot.
   */
  List<C> children(Path dir, String rel) throws IOException {
    Upcoming<C> next = upcoming.peekFirst();
    List<C> children;
    if (next != null && next.rel.equals(rel) && next.dir.equals(dir)) {
      upcoming.pollFirst();
      children = next.listing == null ? lister.list(dir, rel) : await(next.listing);
    } else {
      children = lister.list(dir, rel);
    }
    if (pool != null) {
      // The walk enters these next, before the siblings already queued: put them in front, in order.
      for (int i = children.size() - 1; i >= 0; i--) {
        C c = children.get(i);
        if (shape.isDirectory(c)) {
          upcoming.addFirst(new Upcoming<>(shape.path(c), shape.rel(c)));
        }
      }
      listAhead();
    }
    return children;
  }

  private void listAhead() {
    ExecutorService p = pool;
    if (p == null) {
      return;
    }
    Iterator<Upcoming<C>> it = upcoming.iterator();
    for (int i = 0; i < window && it.hasNext(); i++) {
      Upcoming<C> u = it.next();
      if (u.listing == null) {
        u.listing = p.submit(() -> lister.list(u.dir, u.rel));
      }
    }
  }

  private static <C> List<C> await(Future<List<C>> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while listing ahead");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof UncheckedIOException u) {
        throw u.getCause();
      }
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new BbdiyException(ErrorCode.PROVIDER_FAILED, "listing failed: " + cause, cause);
    }
  }

  /** Stops the workers; listings still running are abandoned. */
  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    upcoming.clear();
  }

  private static ThreadFactory daemons() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "bbdiy-copy-list-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
