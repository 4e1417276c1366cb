package dev.bbdiy.core;

import java.util.Locale;

/** The state of Bitbucket's database or SCM latch, as {@code GET /mvc/maintenance} reports it. */
public enum LatchState {
  /** Operations run normally. */
  AVAILABLE,
  /** New operations are held back; running ones are finishing. */
  LATCHED,
  /** No operation is running: the data is quiescent. */
  DRAINED,
  /** A value this client does not know; treated as not drained. */
  UNKNOWN;

  static LatchState parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
