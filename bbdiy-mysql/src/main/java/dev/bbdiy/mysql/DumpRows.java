package dev.bbdiy.mysql;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts the rows of every table in a mysqldump file: each {@code CREATE TABLE} names a table, each tuple of an
 * {@code INSERT}/{@code REPLACE ... VALUES} is a row of it. The counts are those of the dump itself, so a restore
 * that compares them proves the load complete whatever happened to the server after the snapshot.
 *
 * <p>Reads bytes, not characters: strings hold anything (binary data without {@code --hex-blob}), and only the
 * ASCII syntax around them (quotes with backslash escapes, backticks, comments) decides where statements and
 * tuples end. Trigger bodies, which mysqldump writes inside versioned comments, are skipped as comments.
 */
final class DumpRows {
  private final InputStream in;
  private final byte[] buf = new byte[1 << 16];
  private int pos;
  private int len;
  private final Map<String, Long> rows = new TreeMap<>();

  private DumpRows(InputStream in) {
    this.in = in;
  }

  /** Returns the rows per table of the dump in {@code file}; tables without rows count 0. */
  static Map<String, Long> count(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return count(in);
    }
  }

  static Map<String, Long> count(InputStream in) throws IOException {
    DumpRows d = new DumpRows(in);
    try {
      d.statements();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return d.rows;
  }

  private int peek() {
    if (pos == len) {
      try {
        len = in.read(buf, 0, buf.length);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      pos = 0;
      if (len <= 0) {
        len = 0;
        return -1;
      }
    }
    return buf[pos] & 0xff;
  }

  private int next() {
    int c = peek();
    if (c >= 0) {
      pos++;
    }
    return c;
  }

  /** Peeks one byte beyond the next; may refill the buffer, keeping the next byte. */
  private int peek2() {
    if (peek() < 0) {
      return -1;
    }
    if (pos + 1 < len) {
      return buf[pos + 1] & 0xff;
    }
    byte first = buf[pos];
    try {
      int n = in.read(buf, 1, buf.length - 1);
      buf[0] = first;
      pos = 0;
      len = n <= 0 ? 1 : 1 + n;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return len > 1 ? buf[1] & 0xff : -1;
  }

  private void statements() {
    while (true) {
      skipSpace();
      int c = peek();
      if (c < 0) {
        return;
      }
      if (c == ';') {
        next();
        continue;
      }
      if (c == '-' && peek2() == '-' || c == '#') {
        skipLine();
        continue;
      }
      if (c == '/' && peek2() == '*') {
        skipComment();
        continue;
      }
      statement();
    }
  }

  private void statement() {
    String first = word();
    if (first.equals("DELIMITER")) {
      skipLine(); // the client's own command: its argument ends at the line's end
      return;
    }
    if (first.equals("INSERT") || first.equals("REPLACE")) {
      skipSpace();
      String w = word();
      while (w.equals("IGNORE") || w.equals("LOW_PRIORITY") || w.equals("DELAYED") || w.equals("HIGH_PRIORITY")) {
        skipSpace();
        w = word();
      }
      if (w.equals("INTO")) {
        skipSpace();
        String table = qualifiedName();
        if (table != null) {
          skipSpace();
          if (peek() == '(') {
            skipParenthesised(); // the column list of --complete-insert
            skipSpace();
          }
          if (word().equals("VALUES")) {
            long n = tuples();
            rows.merge(table, n, Long::sum);
          }
        }
      }
    } else if (first.equals("CREATE")) {
      skipSpace();
      String w = word();
      if (w.equals("TEMPORARY")) {
        skipRest();
        return;
      }
      if (w.equals("TABLE")) {
        skipSpace();
        if (peek() != '`') {
          String maybeIf = word();
          if (maybeIf.equals("IF")) {
            skipSpace();
            word(); // NOT
            skipSpace();
            word(); // EXISTS
            skipSpace();
          }
        }
        String table = qualifiedName();
        if (table != null) {
          rows.putIfAbsent(table, 0L);
        }
      }
    }
    skipRest();
  }

  /** Counts the tuples of a VALUES list up to the end of the statement. */
  private long tuples() {
    long n = 0;
    while (true) {
      skipSpace();
      int c = peek();
      if (c == '(') {
        skipParenthesised();
        n++;
        skipSpace();
        if (peek() == ',') {
          next();
          continue;
        }
      }
      return n; // ';', or ON DUPLICATE KEY UPDATE ...: skipRest finds the end
    }
  }

  /** Reads an upper-cased keyword of ASCII letters and underscores (empty if none starts here). */
  private String word() {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = peek()) >= 0 && (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') && b.length() < 32) {
      b.append((char) Character.toUpperCase(c));
      next();
    }
    return b.toString();
  }

  /** Reads {@code `name`} or {@code `db`.`name`} and returns the last part, or null where none starts here. */
  private @org.jspecify.annotations.Nullable String qualifiedName() {
    String name = identifier();
    while (name != null && peek() == '.') {
      next();
      String part = identifier();
      if (part == null) {
        return null;
      }
      name = part;
    }
    return name;
  }

  private @org.jspecify.annotations.Nullable String identifier() {
    int c = peek();
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    if (c == '`') {
      next();
      while (true) {
        c = next();
        if (c < 0) {
          return null;
        }
        if (c == '`') {
          if (peek() == '`') {
            next();
          } else {
            break;
          }
        }
        b.write(c);
      }
    } else {
      while ((c = peek()) >= 0 && (Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80)) {
        b.write(next());
      }
      if (b.size() == 0) {
        return null;
      }
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  /** Skips from an opening parenthesis to its match, past strings and comments. */
  private void skipParenthesised() {
    int depth = 0;
    int c;
    while ((c = peek()) >= 0) {
      if (c == '\'' || c == '"' || c == '`') {
        skipQuoted(next());
        continue;
      }
      if (c == '/' && peek2() == '*') {
        skipComment();
        continue;
      }
      next();
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return;
      }
    }
  }

  /** Skips to the end of the statement: past its ';', ignoring those inside strings and comments. */
  private void skipRest() {
    int c;
    while ((c = peek()) >= 0) {
      if (c == '\'' || c == '"' || c == '`') {
        skipQuoted(next());
      } else if (c == '/' && peek2() == '*') {
        skipComment();
      } else {
        next();
        if (c == ';') {
          return;
        }
      }
    }
  }

  /** Skips a quoted string or identifier whose opening quote was read; backslash escapes in strings. */
  private void skipQuoted(int quote) {
    int c;
    while ((c = next()) >= 0) {
      if (c == '\\' && quote != '`') {
        next();
      } else if (c == quote) {
        if (peek() == quote) {
          next(); // doubled: the quote itself
        } else {
          return;
        }
      }
    }
  }

  private void skipComment() {
    next();
    next();
    int prev = 0;
    int c;
    while ((c = next()) >= 0) {
      if (prev == '*' && c == '/') {
        return;
      }
      prev = c;
    }
  }

  private void skipLine() {
    int c;
    while ((c = next()) >= 0 && c != '\n') {
      // to the end of the line
    }
  }

  private void skipSpace() {
    int c;
    while ((c = peek()) == ' ' || c == '\n' || c == '\r' || c == '\t') {
      next();
    }
  }
}
