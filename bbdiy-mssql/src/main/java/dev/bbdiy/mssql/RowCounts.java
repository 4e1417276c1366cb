package dev.bbdiy.mssql;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ProgressReporter;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Every user table's row count, recorded when the differential backup is taken and compared with {@code COUNT_BIG}
 * after a restore.
 *
 * <p>The counts are taken inside the lock, right after the differential backup, so that they describe the state
 * the backup holds: Bitbucket writes nothing while locked. To keep the lock short they come from the catalog
 * ({@code sys.partitions.rows} of each table's heap or clustered index: one metadata query, milliseconds whatever
 * the tables' sizes) rather than from scanning every table; the restore then counts for real. The keys are {@code
 * rows.[schema].[table]}, each name bracket-quoted with {@code ]} doubled, so that names holding dots stay apart.
 */
final class RowCounts {
  static final String PREFIX = "rows.";
  static final String TABLES = "tables";

  private RowCounts() {}

  /** The query run inside the lock; the fake server answers exactly this text. */
  static String query(String database) {
    String db = MssqlDumper.ident(database);
    return "SELECT s.name, t.name, CONVERT(varchar(20), SUM(p.rows)) FROM " + db + ".sys.tables t JOIN " + db
        + ".sys.schemas s ON s.schema_id = t.schema_id JOIN " + db + ".sys.partitions p ON p.object_id ="
        + " t.object_id AND p.index_id IN (0, 1) WHERE t.is_ms_shipped = 0 GROUP BY s.name, t.name ORDER BY"
        + " s.name, t.name";
  }

  /** Returns the row count of every user table of {@code database} as artifact properties. */
  static Map<String, String> record(SqlSession s, String database) throws SQLException {
    Map<String, String> out = new TreeMap<>();
    for (String[] row : s.query(query(database))) {
      if (row.length < 3 || row[0] == null || row[1] == null || row[2] == null) {
        continue;
      }
      out.put(PREFIX + MssqlDumper.ident(row[0]) + "." + MssqlDumper.ident(row[1]), row[2]);
    }
    out.put(TABLES, Integer.toString(out.size()));
    return out;
  }

  /**
   * Counts the rows of every table the backup recorded in the restored database {@code target}.
   *
   * @return what was checked, or {@code null} (with a warning) when the backup recorded no counts
   * @throws BbdiyException {@link ErrorCode#VERIFICATION_FAILED} naming the tables whose counts differ
   */
  static @Nullable String verify(SqlSession s, String target, Map<String, String> properties,
      ProgressReporter progress) throws SQLException {
    Map<String, String> expected = new TreeMap<>();
    properties.forEach((k, v) -> {
      if (k.startsWith(PREFIX)) {
        expected.put(k.substring(PREFIX.length()), v);
      }
    });
    if (expected.isEmpty()) {
      progress.warning("the backup recorded no row counts; the restored database's tables were not counted");
      return null;
    }
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> e : expected.entrySet()) {
      String table = e.getKey();
      if (!quotedPair(table)) {
        problems.add(table + ": not a [schema].[table] name");
        continue;
      }
      List<String[]> r = s.query("SELECT COUNT_BIG(*) FROM " + MssqlDumper.ident(target) + "." + table);
      String n = r.isEmpty() || r.get(0).length == 0 ? null : r.get(0)[0];
      if (!e.getValue().matches("\\d{1,19}")) {
        problems.add(table + ": " + n + " rows, '" + e.getValue() + "' at backup time, which is not a number");
      } else if (n == null || !n.equals(Long.toString(Long.parseLong(e.getValue())))) {
        problems.add(table + ": " + n + " rows, " + e.getValue() + " at backup time");
      }
    }
    if (!problems.isEmpty()) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The restored database " + target + " differs from"
          + " the backup: " + String.join("; ", problems.subList(0, Math.min(10, problems.size())))
          + (problems.size() > 10 ? " (and " + (problems.size() - 10) + " more)" : "") + ". bbdiy drops it; restore"
          + " an older backup, or check the backup files");
    }
    String checked = "row counts of " + expected.size() + " tables match the backup";
    progress.message(checked);
    return checked;
  }

  /**
   * Whether {@code key} is exactly two bracket-quoted names joined by a dot, as {@link #record} writes them: a key
   * from a tampered artifact must not smuggle SQL into the count statement.
   */
  static boolean quotedPair(String key) {
    int end = quotedEnd(key, 0);
    return end > 0 && end < key.length() && key.charAt(end) == '.' && quotedEnd(key, end + 1) == key.length();
  }

  /** Returns the index after the bracket-quoted name starting at {@code from}, or -1. */
  private static int quotedEnd(String s, int from) {
    if (from >= s.length() || s.charAt(from) != '[') {
      return -1;
    }
    int i = from + 1;
    while (i < s.length()) {
      if (s.charAt(i) == ']') {
        if (i + 1 < s.length() && s.charAt(i + 1) == ']') {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return -1;
  }
}
