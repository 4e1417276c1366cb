package dev.bbdiy.cli;

/** Quoting for the commands bbdiy prints for the user to run. */
final class Shell {
  private Shell() {}

  /** Returns {@code word} as one POSIX shell word: as it is when that is safe, else in single quotes. */
  static String quote(String word) {
    if (!word.isEmpty() && word.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128
        || "/._-=:,+@%".indexOf(c) >= 0)) {
      return word;
    }
    return "'" + word.replace("'", "'\\''") + "'";
  }
}
