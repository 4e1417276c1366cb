package dev.bbdiy.core;

import java.util.Locale;

/** The state of a Bitbucket maintenance task. Any state but {@link #RUNNING} is terminal. */
public enum TaskState {
  RUNNING,
  SUCCESSFUL,
  FAILED,
  CANCELED,
  /** A value this client does not know; treated as terminal. */
  UNKNOWN;

  static TaskState parse(String value) {
    String v = value.trim().toUpperCase(Locale.ROOT);
    if (v.equals("CANCELLED")) {
      return CANCELED;
    }
    try {
      return valueOf(v);
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
