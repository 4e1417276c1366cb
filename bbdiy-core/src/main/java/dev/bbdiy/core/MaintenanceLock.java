package dev.bbdiy.core;

import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A maintenance lock this process holds. Closing it unlocks Bitbucket (with retries) unless it was already
 * released, so it belongs in a try-with-resources block:
 *
 * <pre>{@code
 * try (MaintenanceLock lock = client.lock()) {
 *   ExternalBackup backup = client.startExternalBackup(lock);
 *   client.awaitDrained(lock, Duration.ofMinutes(5));
 *   // copy
 *   client.reportProgress(lock, 100);
 * } // unlocked here, on every path
 * }</pre>
 *
 * <p>{@link #toString()} shows only the start of the token; {@link #unlockToken()} returns it whole for the one
 * place that needs it: the state file a later run recovers from.
 */
public final class MaintenanceLock implements AutoCloseable {
  private final MaintenanceClient client;
  private final String unlockToken;
  private final String owner;
  private final Instant requestedAt;
  private final Instant acquiredAt;
  private final AtomicInteger lastProgress = new AtomicInteger(-1);
  private final AtomicBoolean released = new AtomicBoolean();

  MaintenanceLock(
      MaintenanceClient client, String unlockToken, String owner, Instant requestedAt, Instant acquiredAt) {
    this.client = Objects.requireNonNull(client, "client");
    this.unlockToken = Objects.requireNonNull(unlockToken, "unlockToken");
    this.owner = Objects.requireNonNull(owner, "owner");
    this.requestedAt = requestedAt;
    this.acquiredAt = acquiredAt;
  }

  /** Returns the unlock token. Treat it like a password: whoever has it can unlock Bitbucket. */
  public String unlockToken() {
    return unlockToken;
  }

  /** Returns the display name of the user Bitbucket says holds the lock. */
  public String owner() {
    return owner;
  }

  /** Returns when the lock request was sent: the start of the lock window. */
  public Instant requestedAt() {
    return requestedAt;
  }

  /** Returns when Bitbucket confirmed the lock. */
  public Instant acquiredAt() {
    return acquiredAt;
  }

  /** Returns whether an unlock of this lock has been confirmed. */
  public boolean isReleased() {
    return released.get();
  }

  /** Returns the highest progress percentage reported so far, or -1. */
  public int lastProgress() {
    return lastProgress.get();
  }

  boolean advanceProgress(int percentage) {
    while (true) {
      int current = lastProgress.get();
      if (percentage <= current) {
        return false;
      }
      if (lastProgress.compareAndSet(current, percentage)) {
        return true;
      }
    }
  }

  void markReleased() {
    released.set(true);
  }

  /** Unlocks Bitbucket unless already done. See {@link MaintenanceClient#unlock}. */
  @Override
  public void close() {
    if (!released.get()) {
      client.unlock(this);
    }
  }

  @Override
  public String toString() {
    return "MaintenanceLock[owner=" + owner + ", token=" + mask(unlockToken) + ", released=" + released + "]";
  }

  static String mask(String token) {
    return token.length() <= 6 ? "******" : token.substring(0, 4) + "…";
  }
}
