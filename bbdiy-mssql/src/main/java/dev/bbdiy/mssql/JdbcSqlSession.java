package dev.bbdiy.mssql;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** A {@link SqlSession} over Microsoft's JDBC driver; the password travels in memory only. */
final class JdbcSqlSession implements SqlSession {
  private final Connection connection;

  private JdbcSqlSession(Connection connection) {
    this.connection = connection;
  }

  static SqlSession.Connector connector(MssqlConfig cfg) {
    return () -> {
      Properties p = new Properties();
      p.setProperty("databaseName", "master");
      p.setProperty("applicationName", "bbdiy");
      p.setProperty("encrypt", cfg.encrypt());
      p.setProperty("trustServerCertificate", Boolean.toString(cfg.trustServerCertificate()));
      p.setProperty("loginTimeout", "15");
      if (cfg.trustStore() != null) {
        p.setProperty("trustStore", cfg.trustStore().toString());
      }
      if (cfg.trustStorePassword() != null) {
        p.setProperty("trustStorePassword", cfg.trustStorePassword().reveal());
      }
      if (cfg.integratedSecurity()) {
        p.setProperty("integratedSecurity", "true");
      } else {
        p.setProperty("user", cfg.user());
        if (cfg.password() != null) {
          p.setProperty("password", cfg.password().reveal());
        }
      }
      String url = "jdbc:sqlserver://" + cfg.host() + ":" + cfg.port();
      return new JdbcSqlSession(DriverManager.getConnection(url, p));
    };
  }

  @Override
  public List<String[]> query(String sql) throws SQLException {
    List<String[]> rows = new ArrayList<>();
    try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        String[] row = new String[n];
        for (int i = 0; i < n; i++) {
          row[i] = rs.getString(i + 1);
        }
        rows.add(row);
      }
    }
    return rows;
  }

  @Override
  public void execute(String sql) throws SQLException {
    try (Statement st = connection.createStatement()) {
      // BACKUP and RESTORE report progress as messages; an error may come after them, so read them all.
      boolean result = st.execute(sql);
      while (result || st.getUpdateCount() != -1) {
        result = st.getMoreResults();
      }
    }
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // nothing left to release
    }
  }
}
