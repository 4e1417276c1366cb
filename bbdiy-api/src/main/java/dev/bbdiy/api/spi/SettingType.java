package dev.bbdiy.api.spi;

/** The type of a {@link Setting}'s value, as written in configuration. */
public enum SettingType {
  /** Any text. */
  STRING,
  /** A whole number that fits in an {@code int}, within the setting's {@linkplain Setting#withRange range}. */
  INTEGER,
  /** {@code true} or {@code false} (also {@code yes}/{@code no}, {@code 1}/{@code 0}). */
  BOOLEAN,
  /** A file system path. */
  PATH,
  /**
   * A duration: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}, ISO-8601 {@code PT5M}, or seconds;
   * never negative, at most 36500 days, and within the setting's {@linkplain Setting#withRange range}.
   */
  DURATION,
  /** A comma-separated list (items are trimmed, so paths with spaces work). */
  LIST,
  /**
   * A secret, never logged or shown. Also accepted as {@code <key>.file=<path>}: the first line of the file,
   * so the secret need not sit in the configuration.
   */
  SECRET
}
