package dev.bbdiy.mssql;

import java.nio.file.Path;
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
    return () -> new JdbcSqlSession(DriverManager.getConnection(url(cfg), properties(cfg, windows())));
  }

  /** The driver's URL: host and port only; everything else, secrets included, goes in the properties. */
  static String url(MssqlConfig cfg) {
    return "jdbc:sqlserver://" + cfg.host() + ":" + cfg.port();
  }

  /**
   * The connection properties, as Microsoft's driver names them: {@code encrypt} and {@code
   * trustServerCertificate} as configured (certificates are checked unless told otherwise), the trust store, and
   * either the SQL login or integrated authentication, which outside Windows is Kerberos ({@code
   * authenticationScheme=JavaKerberos}: the native SSPI library exists only on Windows).
   */
  static Properties properties(MssqlConfig cfg, boolean windows) {
    Properties p = new Properties();
    p.setProperty("databaseName", "master");
    p.setProperty("applicationName", "bbdiy");
    p.setProperty("encrypt", cfg.encrypt());
    p.setProperty("trustServerCertificate", Boolean.toString(cfg.trustServerCertificate()));
    p.setProperty("loginTimeout", "15");
    Path trustStore = cfg.trustStore();
    if (trustStore != null) {
      p.setProperty("trustStore", trustStore.toString());
    }
    if (cfg.trustStorePassword() != null) {
      p.setProperty("trustStorePassword", java.util.Objects.requireNonNull(cfg.trustStorePassword()).reveal());
    }
    if (cfg.integratedSecurity()) {
      p.setProperty("integratedSecurity", "true");
      if (!windows) {
        p.setProperty("authenticationScheme", "JavaKerberos");
      }
    } else {
      p.setProperty("user", cfg.user());
      if (cfg.password() != null) {
        p.setProperty("password", java.util.Objects.requireNonNull(cfg.password()).reveal());
      }
    }
    return p;
  }

  private static boolean windows() {
    return System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");
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
