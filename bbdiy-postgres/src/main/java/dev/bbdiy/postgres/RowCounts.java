package dev.bbdiy.postgres;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.ProgressReporter;
import dev.bbdiy.api.spi.RestoreContext;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The row counts a backup records in its manifest ({@code rows.<schema>.<table>}, counted in the exported
 * snapshot) and the comparison a restore makes against them.
 */
final class RowCounts {
  static final String ROWS = "rows.";
  /** The tables pg_dump dumps and a restore compares: ordinary tables outside the system schemas. */
  static final String USER_TABLES = " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      + " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
      + " AND n.nspname NOT LIKE 'pg_toast%'";

  private RowCounts() {}

  /**
   * Counts the rows of every table. The keys are {@code rows.<schema>.<table>}, each name as {@code quote_ident}
   * writes it: plain names stay plain ({@code rows.public.repository}), names with dots, quotes, capitals or
   * non-ASCII letters are double-quoted, so that {@code a.b}.{@code c} and {@code a}.{@code b.c} stay apart.
   */
  static Map<String, String> countRows(Connection c, ProgressReporter progress) throws SQLException {
    List<String[]> tables = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname, quote_ident(n.nspname) || '.'"
            + " || quote_ident(c.relname)" + USER_TABLES + " ORDER BY 1, 2")) {
      while (rs.next()) {
        tables.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
      }
    }
    Map<String, String> out = new TreeMap<>();
    for (String[] t : tables) {
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM " + PgTools.ident(t[0]) + "." + PgTools.ident(t[1]))) {
        rs.next();
        out.put(ROWS + t[2], Long.toString(rs.getLong(1)));
      }
    }
    out.put("tables", Integer.toString(tables.size()));
    progress.message("counted the rows of " + tables.size() + " tables in the snapshot");
    return out;
  }

  /** Compares each table's row count with the one recorded at backup time. */
  static @Nullable String verify(PgTools tools, String target, RestoreContext ctx) {
    Map<String, String> expected = new TreeMap<>();
    ctx.artifact().properties().forEach((k, v) -> {
      if (k.startsWith(ROWS)) {
        expected.put(k.substring(ROWS.length()), v);
      }
    });
    if (expected.isEmpty()) {
      ctx.progress().warning("the backup recorded no row counts; the restored database was not compared");
      return null;
    }
    List<String> problems = new ArrayList<>();
    try (Connection c = tools.connect(target)) {
      for (Map.Entry<String, String> e : expected.entrySet()) {
        String[] name = tableName(e.getKey());
        try (Statement st = c.createStatement();
            ResultSet rs = st.executeQuery("SELECT count(*) FROM " + PgTools.ident(name[0]) + "." + PgTools.ident(name[1]))) {
          rs.next();
          long n = rs.getLong(1);
          if (!e.getValue().matches("\\d{1,19}")) {
            problems.add(e.getKey() + ": " + n + " rows, '" + e.getValue() + "' at backup time, which is not a"
                + " number");
          } else if (n != Long.parseLong(e.getValue())) {
            problems.add(e.getKey() + ": " + n + " rows, " + e.getValue() + " at backup time");
          }
        } catch (SQLException ex) {
          problems.add(e.getKey() + ": " + ex.getMessage());
        }
      }
    } catch (SQLException e) {
      throw tools.connectionFailure(target, e);
    }
    if (!problems.isEmpty()) {
      throw new BbdiyException(ErrorCode.VERIFICATION_FAILED, "The restored database " + target + " differs from"
          + " the backup: " + String.join("; ", problems.subList(0, Math.min(10, problems.size()))));
    }
    String checked = "row counts of " + expected.size() + " tables match the backup";
    ctx.progress().message(checked);
    return checked;
  }

  /**
   * Splits a row-count key ({@code schema.table}, each part as {@code quote_ident} wrote it) into the two names.
   * Keys of older backups hold both names raw; their schema ends at the first dot, as those versions read them.
   */
  static String[] tableName(String key) {
    String schema;
    String rest;
    int end = quotedEnd(key);
    if (end > 0 && end < key.length() && key.charAt(end) == '.') {
      schema = key.substring(1, end - 1).replace("\"\"", "\"");
      rest = key.substring(end + 1);
    } else {
      int dot = key.indexOf('.');
      if (dot < 0) {
        return new String[] {"", key}; // not a key bbdiy writes: the comparison reports the table missing
      }
      schema = key.substring(0, dot);
      rest = key.substring(dot + 1);
    }
    String table = quotedEnd(rest) == rest.length()
        ? rest.substring(1, rest.length() - 1).replace("\"\"", "\"") : rest;
    return new String[] {schema, table};
  }

  /** Returns the index just after the quoted identifier {@code s} starts with, or -1 if it starts with none. */
  private static int quotedEnd(String s) {
    if (!s.startsWith("\"")) {
      return -1;
    }
    int i = 1;
    while (i < s.length()) {
      if (s.charAt(i) == '"') {
        if (i + 1 < s.length() && s.charAt(i + 1) == '"') {
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
