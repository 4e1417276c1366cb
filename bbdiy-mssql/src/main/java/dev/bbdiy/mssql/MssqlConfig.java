package dev.bbdiy.mssql;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.api.spi.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** Settings of the {@code mssql} provider. */
record MssqlConfig(
    String host,
    int port,
    String user,
    @Nullable Secret password,
    boolean integratedSecurity,
    String database,
    String encrypt,
    boolean trustServerCertificate,
    @Nullable Path trustStore,
    @Nullable Secret trustStorePassword,
    String serverDir,
    Path localDir,
    Duration fullEvery,
    boolean compression) {

  static MssqlConfig from(Settings s) {
    String encrypt = s.string(MssqlProvider.ENCRYPT).trim().toLowerCase(Locale.ROOT);
    if (!encrypt.equals("true") && !encrypt.equals("false") && !encrypt.equals("strict")) {
      throw BbdiyException.configuration("mssql.encrypt must be true, false or strict, not " + encrypt);
    }
    String database = s.string(MssqlProvider.DATABASE);
    checkName(database, "mssql.database (BITBUCKET_DB)");
    String serverDir = s.string(MssqlProvider.SERVER_DIR).trim();
    if (serverDir.isEmpty() || serverDir.chars().anyMatch(c -> c < 0x20)) {
      throw BbdiyException.configuration("mssql.server-dir is empty or holds control characters");
    }
    String host = s.string(MssqlProvider.HOST).trim();
    if (!host.matches("[A-Za-z0-9._\\-:\\[\\]]+")) {
      throw BbdiyException.configuration("mssql.host '" + host + "' is not a host name or address");
    }
    return new MssqlConfig(host, s.integer(MssqlProvider.PORT), s.string(MssqlProvider.USER),
        s.secret(MssqlProvider.PASSWORD).orElse(null), s.bool(MssqlProvider.INTEGRATED_SECURITY), database, encrypt,
        s.bool(MssqlProvider.TRUST_SERVER_CERTIFICATE), s.optionalPath(MssqlProvider.TRUST_STORE).orElse(null),
        s.secret(MssqlProvider.TRUST_STORE_PASSWORD).orElse(null), serverDir, s.path(MssqlProvider.LOCAL_DIR),
        s.duration(MssqlProvider.FULL_EVERY), s.bool(MssqlProvider.COMPRESSION));
  }

  static void checkName(String name, String what) {
    if (name.isEmpty() || name.length() > 128 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw BbdiyException.configuration(what + " is not a database name SQL Server accepts (1 to 128 characters,"
          + " no control characters)");
    }
  }

  /** Returns the path of {@code file} in the server's directory, joined with the server's separator. */
  String serverPath(String file) {
    String sep = serverDir.contains("\\") && !serverDir.contains("/") ? "\\" : "/";
    return serverDir.endsWith(sep) ? serverDir + file : serverDir + sep + file;
  }
}
