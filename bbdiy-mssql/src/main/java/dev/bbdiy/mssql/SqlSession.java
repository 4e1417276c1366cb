package dev.bbdiy.mssql;

import java.sql.SQLException;
import java.util.List;

/**
 * One connection to SQL Server, as the provider uses it: T-SQL text in, rows of strings out. The provider's
 * statements are exactly what the server gets; {@link JdbcSqlSession} sends them through Microsoft's JDBC driver,
 * and the tests run them against a stateful fake of the server.
 */
interface SqlSession extends AutoCloseable {
  /** Runs a query; returns its rows, each column as a string (or null). */
  List<String[]> query(String sql) throws SQLException;

  /** Runs a statement (BACKUP, RESTORE, DROP), draining every message it sends. */
  void execute(String sql) throws SQLException;

  @Override
  void close();

  /** Opens sessions; the provider opens one per phase, so nothing is held across the lock. */
  @FunctionalInterface
  interface Connector {
    SqlSession open() throws SQLException;
  }
}
