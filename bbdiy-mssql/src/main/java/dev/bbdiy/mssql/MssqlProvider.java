package dev.bbdiy.mssql;

import dev.bbdiy.api.spi.Capability;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.api.spi.SettingType;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The {@code mssql} database dumper for SQL Server ({@code BACKUP_DATABASE_TYPE=mssql}), over Microsoft's JDBC
 * driver: no {@code sqlcmd}, no Windows.
 *
 * <p>While Bitbucket runs ({@code prepare}) it takes a full backup {@code WITH CHECKSUM}, or reuses its last one
 * while that is younger than {@link #FULL_EVERY} and still the database's differential base (a full backup someone
 * else took moves the base: {@code sys.master_files} tells). Inside the lock it runs one statement, a {@code BACKUP
 * DATABASE ... WITH DIFFERENTIAL, CHECKSUM}, which writes only what changed since the full. After the unlock both
 * files are checked with {@code RESTORE VERIFYONLY ... WITH CHECKSUM} and copied into the backup, so each backup
 * holds the full its differential needs. SQL Server writes the files on its own host, into {@link #SERVER_DIR};
 * {@link #LOCAL_DIR} is the same directory as bbdiy sees it.
 */
public final class MssqlProvider implements DatabaseDumperProvider {
  public static final Setting HOST = Setting.of("host", SettingType.STRING, "SQL Server host.")
      .withDefault("localhost");
  public static final Setting PORT = Setting.of("port", SettingType.INTEGER, "SQL Server port.")
      .withDefault("1433").withRange("1", "65535");
  public static final Setting USER = Setting.of("user", SettingType.STRING,
      "SQL login; needs BACKUP DATABASE on the database, and dbcreator to restore.").withDefault("bitbucket");
  public static final Setting PASSWORD = Setting.of("password", SettingType.SECRET,
      "Password of the SQL login; or mssql.password.file.");
  public static final Setting INTEGRATED_SECURITY = Setting.of("integrated-security", SettingType.BOOLEAN,
      "Integrated (Kerberos) authentication instead of a SQL login, where the driver supports it.")
      .withDefault("false");
  public static final Setting DATABASE = Setting.of("database", SettingType.STRING,
      "Bitbucket's database (BITBUCKET_DB).").withDefault("bitbucket").fromVarsFile("BITBUCKET_DB");
  public static final Setting ENCRYPT = Setting.of("encrypt", SettingType.STRING,
      "The driver's encrypt: true (default), false, or strict.").withDefault("true");
  public static final Setting TRUST_SERVER_CERTIFICATE = Setting.of("trust-server-certificate",
      SettingType.BOOLEAN, "The driver's trustServerCertificate: accept any certificate (default false).")
      .withDefault("false");
  public static final Setting TRUST_STORE = Setting.of("trust-store", SettingType.PATH,
      "The driver's trustStore: a Java trust store with the server's CA.");
  public static final Setting TRUST_STORE_PASSWORD = Setting.of("trust-store-password", SettingType.SECRET,
      "The driver's trustStorePassword.");
  public static final Setting SERVER_DIR = Setting.of("server-dir", SettingType.STRING,
      "Directory the server writes its backup files to, as the server sees it (a local path or a share).")
      .asRequired();
  public static final Setting LOCAL_DIR = Setting.of("local-dir", SettingType.PATH,
      "The same directory as bbdiy sees it (a mount of the share); may equal mssql.server-dir.").asRequired();
  public static final Setting FULL_EVERY = Setting.of("full-every", SettingType.DURATION,
      "Take a new full backup when bbdiy's last one is older (default 7d); a differential is taken each time.")
      .withDefault("7d").withRange("0s", "3650d");
  public static final Setting COMPRESSION = Setting.of("compression", SettingType.BOOLEAN,
      "Compress the backups where the edition can (not Express); default true.").withDefault("true");

  private final SqlSession.@Nullable Connector connector;

  /** The provider found by the ServiceLoader: connects with Microsoft's JDBC driver. */
  public MssqlProvider() {
    this(null);
  }

  MssqlProvider(SqlSession.@Nullable Connector connector) {
    this.connector = connector;
  }

  @Override
  public String name() {
    return "mssql";
  }

  @Override
  public String description() {
    return "SQL Server: full backup before the lock, differential inside it, both verified after";
  }

  @Override
  public List<Setting> settings() {
    return List.of(HOST, PORT, USER, PASSWORD, INTEGRATED_SECURITY, DATABASE, ENCRYPT, TRUST_SERVER_CERTIFICATE,
        TRUST_STORE, TRUST_STORE_PASSWORD, SERVER_DIR, LOCAL_DIR, FULL_EVERY, COMPRESSION);
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.FILE_OUTPUT);
  }

  @Override
  public DatabaseDumper create(ProviderContext context) {
    MssqlConfig cfg = MssqlConfig.from(context.settings());
    return new MssqlDumper(cfg, context.workDir(), context.stateDirectory(),
        connector != null ? connector : JdbcSqlSession.connector(cfg));
  }
}
