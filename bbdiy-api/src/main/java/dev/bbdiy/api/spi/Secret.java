package dev.bbdiy.api.spi;

import java.util.Objects;

/**
 * A secret value. {@link #toString()} never shows it; only {@link #reveal()} does, for the one place that
 * must pass it on (a 0600 file, an HTTP header, a child process's environment, never its arguments).
 */
public final class Secret {
  private final String value;

  private Secret(String value) {
    this.value = value;
  }

  /** Wraps a secret value. */
  public static Secret of(String value) {
    return new Secret(Objects.requireNonNull(value, "value"));
  }

  /** Returns the secret itself. */
  public String reveal() {
    return value;
  }

  /** Returns whether the secret is empty. */
  public boolean isEmpty() {
    return value.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Secret && ((Secret) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return "******";
  }
}
