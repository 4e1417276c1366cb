package dev.bbdiy.mssql;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.jspecify.annotations.Nullable;

/**
 * A stateful fake of SQL Server at the statement level: it answers exactly the T-SQL the provider sends, and
 * models what matters for it: databases with their files and differential base LSN, msdb's backup history, backup
 * files on disk with a checksum (VERIFYONLY fails on a damaged one), RESTORE refusing an existing database and files
 * in use, FILELISTONLY for MOVE, NORECOVERY then a differential WITH RECOVERY that must match the restored base.
 * Any other statement fails, so a test sees what it does not model. Backup paths are the server's: the fake maps
 * them to {@code dir}, as if server-dir and local-dir were one directory.
 */
final class FakeSqlServer implements SqlSession.Connector {
  private static final String ID = "\\[((?:[^\\]]|\\]\\])*)\\]";
  private static final String LIT = "N'((?:[^']|'')*)'";

  /** One statement as the server received it, and whether Bitbucket was locked then. */
  record Statement(String sql, boolean locked) {}

  static final class Db {
    String state = "ONLINE";
    String content;
    String baseLsn = "0";
    final Map<String, String> files = new LinkedHashMap<>();
    /** Row counts by "schema\ttable", as the catalog and COUNT_BIG report them. */
    final Map<String, Long> tables = new java.util.TreeMap<>();

    Db(String content) {
      this.content = content;
    }
  }

  record BackupSet(String database, String type, String checkpointLsn, String baseLsn, String device) {}

  final Map<String, Db> databases = new LinkedHashMap<>();
  final List<BackupSet> msdb = new ArrayList<>();
  final List<Statement> statements = new ArrayList<>();
  private final Path dir;
  private final String serverDir;
  private long lsn = 1000;
  String edition = "3"; // Enterprise; 4 is Express
  /** Rows a RESTORE loses from one table ("schema\ttable"), to model a restore that is not what was backed up. */
  @Nullable String losesRowsOnRestore;
  BooleanSupplier locked = () -> false;

  FakeSqlServer(Path dir, String serverDir) {
    this.dir = dir;
    this.serverDir = serverDir;
  }

  /** Creates a database with two files, as a fresh Bitbucket database has. */
  Db create(String name, String content) {
    Db d = new Db(content);
    d.files.put(name, "/var/opt/mssql/data/" + name + ".mdf");
    d.files.put(name + "_log", "/var/opt/mssql/data/" + name + "_log.ldf");
    d.tables.put("dbo\trepository", 3L);
    d.tables.put("dbo\tsta_pull_request", 12L);
    d.tables.put("odd.schema\tthe ]table", 1L);
    databases.put(name, d);
    return d;
  }

  /** A full backup taken by someone else (a DBA's job): it moves the differential base. */
  synchronized void foreignFull(String database) {
    Db d = databases.get(database);
    d.baseLsn = Long.toString(++lsn);
    msdb.add(new BackupSet(database, "D", d.baseLsn, null, "/dba/other.bak"));
  }

  synchronized List<String> statementsWhileLocked() {
    return statements.stream().filter(Statement::locked).map(Statement::sql).toList();
  }

  @Override
  public SqlSession open() throws SQLException {
    return new SqlSession() {
      @Override
      public List<String[]> query(String sql) throws SQLException {
        return run(sql);
      }

      @Override
      public void execute(String sql) throws SQLException {
        run(sql);
      }

      @Override
      public void close() {}
    };
  }

  private synchronized List<String[]> run(String sql) throws SQLException {
    statements.add(new Statement(sql, locked.getAsBoolean()));
    Matcher m;
    if ((m = match("SELECT CAST\\(SERVERPROPERTY\\('ProductVersion'\\) AS nvarchar\\(128\\)\\),"
        + " CAST\\(SERVERPROPERTY\\('EngineEdition'\\) AS int\\), DB_ID\\(" + LIT + "\\)", sql)) != null) {
      return rows(new String[] {"16.0.4135.4", edition, databases.containsKey(lit(m, 1)) ? "5" : null});
    }
    if ((m = match("SELECT s.name, t.name, CONVERT\\(varchar\\(20\\), SUM\\(p.rows\\)\\) FROM " + ID
        + ".sys.tables t JOIN " + ID + ".sys.schemas s ON s.schema_id = t.schema_id JOIN " + ID + ".sys.partitions p"
        + " ON p.object_id = t.object_id AND p.index_id IN \\(0, 1\\) WHERE t.is_ms_shipped = 0 GROUP BY s.name,"
        + " t.name ORDER BY s.name, t.name", sql)) != null) {
      Db d = databases.get(id(m, 1));
      if (d == null || !id(m, 2).equals(id(m, 1)) || !id(m, 3).equals(id(m, 1))) {
        throw new SQLException("Database '" + id(m, 1) + "' does not exist.", "S0001", 911);
      }
      List<String[]> out = new ArrayList<>();
      d.tables.forEach((k, v) -> out.add(new String[] {k.split("\t")[0], k.split("\t")[1], Long.toString(v)}));
      return out;
    }
    if ((m = match("SELECT COUNT_BIG\\(\\*\\) FROM " + ID + "\\." + ID + "\\." + ID, sql)) != null) {
      Db d = databases.get(id(m, 1));
      Long n = d == null || !d.state.equals("ONLINE") ? null : d.tables.get(id(m, 2) + "\t" + id(m, 3));
      if (n == null) {
        throw new SQLException("Invalid object name '" + id(m, 2) + "." + id(m, 3) + "'.", "S0002", 208);
      }
      return rows(new String[] {Long.toString(n)});
    }
    if ((m = match("SELECT DB_ID\\(" + LIT + "\\)", sql)) != null) {
      return rows(new String[] {databases.containsKey(lit(m, 1)) ? "7" : null});
    }
    if ((m = match("SELECT CONVERT\\(varchar\\(40\\), differential_base_lsn\\) FROM sys.master_files WHERE"
        + " database_id = DB_ID\\(" + LIT + "\\) AND file_id = 1", sql)) != null) {
      Db d = databases.get(lit(m, 1));
      return d == null ? rows() : rows(new String[] {d.baseLsn});
    }
    if ((m = match("BACKUP DATABASE " + ID + " TO DISK = " + LIT + " WITH (DIFFERENTIAL, )?CHECKSUM, INIT, FORMAT"
        + "(, COMPRESSION)?", sql)) != null) {
      return backup(id(m, 1), lit(m, 2), m.group(3) != null, m.group(4) != null);
    }
    if ((m = match("SELECT TOP 1 CONVERT\\(varchar\\(40\\), b.checkpoint_lsn\\) FROM msdb.dbo.backupset b JOIN"
        + " msdb.dbo.backupmediafamily f ON f.media_set_id = b.media_set_id WHERE b.database_name = " + LIT
        + " AND b.type = 'D' AND f.physical_device_name = " + LIT + " ORDER BY b.backup_finish_date DESC", sql))
        != null) {
      for (int i = msdb.size() - 1; i >= 0; i--) {
        BackupSet b = msdb.get(i);
        if (b.database().equals(lit(m, 1)) && b.type().equals("D") && b.device().equals(lit(m, 2))) {
          return rows(new String[] {b.checkpointLsn()});
        }
      }
      return rows();
    }
    if ((m = match("SELECT TOP 1 CONVERT\\(varchar\\(40\\), b.differential_base_lsn\\) FROM msdb.dbo.backupset b"
        + " JOIN msdb.dbo.backupmediafamily f ON f.media_set_id = b.media_set_id WHERE b.type = 'I' AND"
        + " f.physical_device_name = " + LIT + " ORDER BY b.backup_finish_date DESC", sql)) != null) {
      for (int i = msdb.size() - 1; i >= 0; i--) {
        BackupSet b = msdb.get(i);
        if (b.type().equals("I") && b.device().equals(lit(m, 1))) {
          return rows(new String[] {b.baseLsn()});
        }
      }
      return rows();
    }
    if ((m = match("RESTORE VERIFYONLY FROM DISK = " + LIT + " WITH CHECKSUM", sql)) != null) {
      read(lit(m, 1), "VERIFY DATABASE");
      return rows();
    }
    if ((m = match("RESTORE FILELISTONLY FROM DISK = " + LIT, sql)) != null) {
      Properties p = read(lit(m, 1), "RESTORE FILELIST");
      List<String[]> out = new ArrayList<>();
      for (String f : p.getProperty("files").split("\n")) {
        String[] lp = f.split("\t");
        out.add(new String[] {lp[0], lp[1], lp[1].endsWith(".ldf") ? "L" : "D"});
      }
      return out;
    }
    if ((m = match("RESTORE DATABASE " + ID + " FROM DISK = " + LIT + " WITH ((?:MOVE " + LIT + " TO " + LIT
        + ", )*)(NORECOVERY|RECOVERY), CHECKSUM", sql)) != null) {
      return restore(id(m, 1), lit(m, 2), m.group(3), m.group(6).equals("RECOVERY"));
    }
    if ((m = match("SELECT state_desc FROM sys.databases WHERE name = " + LIT, sql)) != null) {
      Db d = databases.get(lit(m, 1));
      return d == null ? rows() : rows(new String[] {d.state});
    }
    if ((m = match("DROP DATABASE " + ID, sql)) != null) {
      if (databases.remove(id(m, 1)) == null) {
        throw new SQLException("Cannot drop the database '" + id(m, 1) + "', because it does not exist",
            "S0001", 3701);
      }
      return rows();
    }
    throw new SQLException("the fake does not model this statement: " + sql, "42000", 102);
  }

  private List<String[]> backup(String database, String device, boolean differential, boolean compression)
      throws SQLException {
    Db d = databases.get(database);
    if (d == null) {
      throw new SQLException("Database '" + database + "' does not exist.", "S0001", 911);
    }
    if (compression && edition.equals("4")) {
      throw new SQLException("BACKUP DATABASE WITH COMPRESSION is not supported on Express Edition", "S0001", 1844);
    }
    if (differential && d.baseLsn.equals("0")) {
      throw new SQLException("Cannot perform a differential backup for database \"" + database + "\", because a"
          + " current database backup does not exist.", "S0001", 3035);
    }
    String checkpoint = Long.toString(++lsn);
    Properties p = new Properties();
    p.setProperty("type", differential ? "I" : "D");
    p.setProperty("database", database);
    p.setProperty("checkpoint", checkpoint);
    p.setProperty("base", differential ? d.baseLsn : checkpoint);
    p.setProperty("content", d.content);
    StringBuilder tables = new StringBuilder();
    d.tables.forEach((k, v) -> tables.append(tables.length() > 0 ? "\n" : "").append(k).append('\t').append(v));
    p.setProperty("tables", tables.toString());
    StringBuilder files = new StringBuilder();
    d.files.forEach((l, ph) -> files.append(files.length() > 0 ? "\n" : "").append(l).append('\t').append(ph));
    p.setProperty("files", files.toString());
    write(device, p);
    if (!differential) {
      d.baseLsn = checkpoint;
    }
    msdb.add(new BackupSet(database, differential ? "I" : "D", checkpoint, differential ? d.baseLsn : null,
        device));
    return rows();
  }

  private List<String[]> restore(String target, String device, String moves, boolean recovery)
      throws SQLException {
    Properties p = read(device, "RESTORE DATABASE");
    Db existing = databases.get(target);
    if (p.getProperty("type").equals("I")) {
      if (existing == null || !existing.state.equals("RESTORING") || !existing.baseLsn.equals(p.getProperty("base"))) {
        throw new SQLException("This differential backup cannot be restored because the database has not been"
            + " restored to the correct earlier state.", "S0001", 3136);
      }
      existing.content = p.getProperty("content");
      restoreTables(existing, p);
      existing.state = recovery ? "ONLINE" : "RESTORING";
      return rows();
    }
    if (existing != null) {
      throw new SQLException("The backup set holds a backup of a database other than the existing '" + target
          + "' database.", "S0001", 3154);
    }
    Map<String, String> moved = new LinkedHashMap<>();
    Matcher mv = Pattern.compile("MOVE " + LIT + " TO " + LIT + ", ").matcher(moves);
    while (mv.find()) {
      moved.put(lit(mv, 1), lit(mv, 2));
    }
    Db d = new Db(p.getProperty("content"));
    for (String f : p.getProperty("files").split("\n")) {
      String[] lp = f.split("\t");
      String to = moved.getOrDefault(lp[0], lp[1]);
      for (Map.Entry<String, Db> other : databases.entrySet()) {
        if (other.getValue().files.containsValue(to)) {
          throw new SQLException("The file '" + to + "' cannot be overwritten. It is being used by database '"
              + other.getKey() + "'.", "S0001", 1834);
        }
      }
      d.files.put(lp[0], to);
    }
    d.baseLsn = p.getProperty("checkpoint");
    restoreTables(d, p);
    d.state = recovery ? "ONLINE" : "RESTORING";
    databases.put(target, d);
    return rows();
  }

  private void restoreTables(Db d, Properties p) {
    d.tables.clear();
    String t = p.getProperty("tables", "");
    for (String line : t.isEmpty() ? new String[0] : t.split("\n")) {
      String[] f = line.split("\t");
      long n = Long.parseLong(f[2]);
      String key = f[0] + "\t" + f[1];
      d.tables.put(key, key.equals(losesRowsOnRestore) ? n - 1 : n);
    }
  }

  private void write(String device, Properties p) throws SQLException {
    StringBuilder body = new StringBuilder();
    p.stringPropertyNames().stream().sorted().forEach(k -> body.append(k).append('=')
        .append(p.getProperty(k).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")).append('\n'));
    CRC32 crc = new CRC32();
    crc.update(body.toString().getBytes(StandardCharsets.UTF_8));
    try {
      Files.writeString(local(device), body + "checksum=" + crc.getValue() + "\n");
    } catch (IOException e) {
      throw new SQLException("Cannot open backup device '" + device + "'. Operating system error 5(Access is"
          + " denied.).", "S0001", 3201);
    }
  }

  private Properties read(String device, String what) throws SQLException {
    String text;
    try {
      text = Files.readString(local(device), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new SQLException("Cannot open backup device '" + device + "'. Operating system error 2(The system"
          + " cannot find the file specified.).", "S0001", 3201);
    }
    int at = text.lastIndexOf("checksum=");
    CRC32 crc = new CRC32();
    crc.update(text.substring(0, Math.max(at, 0)).getBytes(StandardCharsets.ISO_8859_1));
    if (at < 0 || !text.substring(at + 9).trim().equals(Long.toString(crc.getValue()))) {
      throw new SQLException(what + " is terminating abnormally. Damage to the backup set was detected.", "S0001",
          3189);
    }
    Properties p = new Properties();
    try {
      p.load(new java.io.StringReader(new String(text.substring(0, at).getBytes(StandardCharsets.ISO_8859_1),
          StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new SQLException(e);
    }
    p.setProperty("files", p.getProperty("files").replace("\\t", "\t"));
    p.setProperty("tables", p.getProperty("tables", "").replace("\\t", "\t").replace("\\n", "\n"));
    return p;
  }

  private Path local(String device) throws SQLException {
    if (!device.startsWith(serverDir + "/")) {
      throw new SQLException("Cannot open backup device '" + device + "': not in the fake's directory", "S0001",
          3201);
    }
    return dir.resolve(device.substring(serverDir.length() + 1));
  }

  private static Matcher match(String regex, String sql) {
    Matcher m = Pattern.compile(regex, Pattern.DOTALL).matcher(sql);
    return m.matches() ? m : null;
  }

  private static String lit(Matcher m, int group) {
    return m.group(group).replace("''", "'");
  }

  private static String id(Matcher m, int group) {
    return m.group(group).replace("]]", "]");
  }

  private static List<String[]> rows(String[]... rows) {
    return new ArrayList<>(List.of(rows));
  }
}
