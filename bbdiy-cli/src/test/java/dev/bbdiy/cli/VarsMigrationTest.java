package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.simulator.FakeBitbucketServer.Endpoint;
import dev.bbdiy.testkit.FakeBitbucketExtension;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An administrator migrating from Atlassian's scripts with their example vars files (recreated in
 * {@code src/test/resources/atlassian}) gets the strategy the file names or a refusal that says what to do, and
 * warnings only about what deserves one.
 */
class VarsMigrationTest {
  static final String MAIN = "bitbucket.diy-backup.vars.sh.example";
  static final String AWS = "bitbucket.diy-backup.vars.sh.example-aws";
  static final String POSTGRES_RSYNC = "bitbucket.diy-backup.vars.sh.example-postgres-rsync";

  @RegisterExtension
  final FakeBitbucketExtension bitbucket = FakeBitbucketExtension.create(b -> b.drainTime(Duration.ofMillis(20)));

  @TempDir Path temp;

  /** The environment: a curl that answers like EC2's instance metadata service, and a state directory. */
  final Map<String, String> env = new HashMap<>();

  @BeforeEach
  void fakeEc2() throws Exception {
    Path bin = Files.createDirectories(temp.resolve("bin"));
    Path curl = Files.writeString(bin.resolve("curl"), String.join("\n", "#!/bin/sh",
        "echo '{\"accountId\":\"123456789012\",\"availabilityZone\":\"eu-west-1b\",\"region\":\"eu-west-1\","
            + "\"instanceId\":\"i-0123456789abcdef0\",\"instanceType\":\"m5.large\"}'", ""));
    Files.setPosixFilePermissions(curl, PosixFilePermissions.fromString("rwxr-xr-x"));
    env.put("PATH", bin + ":" + System.getenv("PATH"));
    env.put("STATE_DIRECTORY", temp.resolve("state").toString());
  }

  /** Copies an example into the temporary directory, as an administrator would (readable by the owner only). */
  Path example(String name) throws Exception {
    return write(name, shipped(name));
  }

  static String shipped(String name) throws Exception {
    try (InputStream in = Objects.requireNonNull(VarsMigrationTest.class.getResourceAsStream("/atlassian/" + name),
        name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  Path write(String name, String text) throws Exception {
    Path f = temp.resolve(name);
    Files.writeString(f, text);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    return f;
  }

  Config load(Path vars) {
    return Config.load(null, vars, Map.of(), env, ProviderRegistry.load());
  }

  VarsMapping.Result mapping(Path vars) {
    return VarsMapping.map(VarsFile.source(vars, Duration.ofMinutes(1), env).variables(), ProviderRegistry.load(),
        Map.of());
  }

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env, false, args);
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void the_main_example_maps_without_a_single_warning_and_as_shipped_is_refused_for_its_empty_password()
      throws Exception {
    Path vars = example(MAIN);

    VarsMapping.Result m = mapping(vars);

    assertThat(m.configuration()).containsExactlyInAnyOrderEntriesOf(Map.ofEntries(
        Map.entry("instance.name", "bitbucket"), Map.entry("instance.type", "bitbucket-dc"),
        Map.entry("bitbucket.url", "http://localhost:7990"), Map.entry("instance.owner-user", "atlbitbucket"),
        Map.entry("instance.owner-group", "atlbitbucket"), Map.entry("home.type", "rsync"),
        Map.entry("database.type", "postgresql"), Map.entry("archive.type", "tar"),
        Map.entry("tar.compression", "gzip"),
        Map.entry("instance.home", "/var/atlassian/application-data/bitbucket/"),
        Map.entry("postgresql.database", "bitbucket"), Map.entry("postgresql.port", "5432"),
        Map.entry("output.verbose", "true"), Map.entry("retention.keep", "0")));
    assertThat(m.warnings()).as("every variable holds the example's value: nothing to say").isEmpty();
    assertThat(m.emptySecrets()).containsExactly(Map.entry("BITBUCKET_BACKUP_PASS", "bitbucket.password"));

    Run r = run("check", "--vars-file", vars.toString());
    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("BITBUCKET_BACKUP_PASS is empty in the vars file");

    // The password in a file of its own, named in the configuration: the example's empty one is then no error.
    Path password = write("password", "Pa55\n");
    Path properties = write("bbdiy.properties", "bitbucket.password.file=" + password + "\ntar.dir=/backup\n");
    Config c = Config.load(properties, vars, Map.of(), env, ProviderRegistry.load());
    assertThat(c.values()).containsEntry("bitbucket.password.file", password.toString())
        .doesNotContainKey("bitbucket.password");
  }

  @Test
  void the_main_example_filled_in_is_the_configuration_it_names() throws Exception {
    Path vars = write(MAIN, shipped(MAIN)
        .replace("BITBUCKET_BACKUP_USER=\n", "BITBUCKET_BACKUP_USER=backup-admin\n")
        .replace("BITBUCKET_BACKUP_PASS=\n", "BITBUCKET_BACKUP_PASS='Pa55 word'\n")
        .replace("POSTGRES_HOST=\n", "POSTGRES_HOST=db.example.com\n")
        .replace("POSTGRES_USERNAME=\n", "POSTGRES_USERNAME=bitbucket\n")
        .replace("BITBUCKET_BACKUP_ROOT=\n", "BITBUCKET_BACKUP_ROOT=/backup/work\n")
        .replace("BITBUCKET_BACKUP_ARCHIVE_ROOT=\n", "BITBUCKET_BACKUP_ARCHIVE_ROOT=/backup/archives\n"));

    Config c = load(vars);

    assertThat(c.values()).containsEntry("bitbucket.user", "backup-admin")
        .containsEntry("bitbucket.password", "Pa55 word").containsEntry("home.type", "rsync")
        .containsEntry("database.type", "postgresql").containsEntry("postgresql.host", "db.example.com")
        .containsEntry("postgresql.user", "bitbucket").containsEntry("work.dir", "/backup/work")
        .containsEntry("tar.dir", "/backup/archives").containsEntry("tar.compression", "gzip")
        .doesNotContainKey("postgresql.password"); // PGPASSWORD= : ~/.pgpass, as with the scripts
    assertThat(c.warnings()).isEmpty();
  }

  @Test
  void the_aws_example_as_shipped_snapshots_with_amazon_ebs_and_says_what_differs() throws Exception {
    Path vars = example(AWS);

    Config c = load(vars);

    assertThat(c.values()).containsEntry("home.type", "amazon-ebs").containsEntry("database.type", "none")
        .containsEntry("archive.type", "tar").containsEntry("bitbucket.zero-downtime", "true")
        .containsEntry("amazon-ebs.volumes", "/media/atl:/dev/sdf")
        .containsEntry("amazon-ebs.restore-volume-type", "gp2").containsEntry("amazon-ebs.region", "eu-west-1")
        .containsEntry("amazon-ebs.availability-zone", "eu-west-1b")
        .containsEntry("amazon-ebs.instance-id", "i-0123456789abcdef0").containsEntry("amazon-ebs.freeze", "false")
        .containsEntry("retention.keep", "5").containsEntry("instance.owner-user", "atlbitbucket")
        .containsEntry("tar.dir", temp.resolve("state/bitbucket/archives").toString())
        .doesNotContainKey("work.dir").doesNotContainKey("amazon-ebs.tags");
    String warnings = String.join("\n", c.warnings());
    assertThat(warnings).contains("postgresql93-fslevel is the old name of postgresql-fslevel",
        "BACKUP_DATABASE_TYPE=postgresql-fslevel", "systemctl stop postgresql", "BACKUP_ARCHIVE_TYPE is empty",
        "FILESYSTEM_TYPE=zfs", "amazon-ebs.mount-command", temp.resolve("state/bitbucket/archives").toString())
        .doesNotContain("HIPCHAT", "ZFS_FILESYSTEM_NAMES", "AWS_INFO", "AWS_ACCOUNT_ID", "CURL_OPTIONS",
            "HOME_DIRECTORY_MOUNT_POINT", "not support");
    assertThat(c.warnings()).hasSize(5);
    // Snapshots stage nothing: no work.dir needed, the run state goes to the state directory.
    assertThat(new EngineFactory(c).workDir()).isEqualTo(temp.resolve("state/bitbucket"));
  }

  @Test
  void the_postgres_rsync_example_as_shipped_is_the_configuration_it_names_without_a_warning() throws Exception {
    Config c = load(example(POSTGRES_RSYNC));

    assertThat(c.values()).containsEntry("home.type", "rsync").containsEntry("database.type", "postgresql")
        .containsEntry("archive.type", "tar").containsEntry("tar.compression", "gzip")
        .containsEntry("tar.dir", "/media/backup-archive").containsEntry("work.dir", "/media/backup-root")
        .containsEntry("instance.home", "/var/atlassian/application-data/bitbucket/")
        .containsEntry("bitbucket.user", "admin").containsEntry("bitbucket.password", "admin")
        .containsEntry("postgresql.host", "localhost").containsEntry("postgresql.user", "bitbucket")
        .containsEntry("postgresql.password", "bitbucket").containsEntry("postgresql.database", "bitbucket")
        .containsEntry("postgresql.port", "5432").containsEntry("output.verbose", "true");
    assertThat(c.warnings()).as("PG_PARALLEL, BITBUCKET_BACKUP_DB, CURL_OPTIONS... hold the example's values")
        .isEmpty();
  }

  @Test
  void the_pre_rename_BACKUP_HOME_TYPE_is_read_as_BACKUP_DISK_TYPE_never_as_another_strategy() throws Exception {
    Path vars = write("old.vars.sh", shipped(POSTGRES_RSYNC).replace("BACKUP_DISK_TYPE=rsync",
        "BACKUP_HOME_TYPE=rsync"));

    Config c = load(vars);

    assertThat(c.values()).containsEntry("home.type", "rsync");
    assertThat(c.warnings()).singleElement().asString()
        .contains("BACKUP_HOME_TYPE is the old name of BACKUP_DISK_TYPE", "BACKUP_DISK_TYPE=rsync");

    Path both = write("both.vars.sh", shipped(POSTGRES_RSYNC).replace("BACKUP_DISK_TYPE=rsync",
        "BACKUP_HOME_TYPE=rsync\nBACKUP_DISK_TYPE=amazon-ebs"));
    Run r = run("check", "--vars-file", both.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("BACKUP_HOME_TYPE=rsync and BACKUP_DISK_TYPE=amazon-ebs", "Remove BACKUP_HOME_TYPE");
  }

  @Test
  void old_names_of_the_ebs_variables_are_read_with_a_warning() throws Exception {
    VarsMapping.Result m = mapping(write("old-ebs.vars.sh", String.join("\n",
        "BACKUP_HOME_TYPE=amazon-ebs",
        "HOME_DIRECTORY_MOUNT_POINT=/media/atl",
        "HOME_DIRECTORY_DEVICE_NAME=/dev/xvdf",
        "RESTORE_HOME_DIRECTORY_VOLUME_TYPE=io1",
        "RESTORE_HOME_DIRECTORY_IOPS=1000",
        "BACKUP_DATABASE_TYPE=amazon-rds",
        "BACKUP_RDS_INSTANCE_ID=bitbucket-db",
        "")));

    assertThat(m.configuration()).containsEntry("home.type", "amazon-ebs")
        .containsEntry("amazon-ebs.volumes", "/media/atl:/dev/xvdf")
        .containsEntry("amazon-ebs.restore-volume-type", "io1").containsEntry("amazon-ebs.restore-iops", "1000")
        .containsEntry("amazon-rds.instance-id", "bitbucket-db");
    assertThat(String.join("\n", m.warnings())).contains("RESTORE_DISK_VOLUME_TYPE=io1", "RESTORE_DISK_IOPS=1000",
        "RDS_INSTANCE_ID=bitbucket-db", "EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES=(/media/atl:/dev/xvdf)");
  }

  @Test
  void the_aws_variables_of_the_main_example_map_as_the_scripts_use_them() throws Exception {
    VarsMapping.Result m = mapping(write(MAIN, shipped(MAIN)
        .replace("BACKUP_DISK_TYPE=rsync", "BACKUP_DISK_TYPE=amazon-ebs")
        .replace("BACKUP_DATABASE_TYPE=postgresql", "BACKUP_DATABASE_TYPE=amazon-rds")
        .replace("BACKUP_ARCHIVE_TYPE=tar", "BACKUP_ARCHIVE_TYPE=aws-snapshots")
        .replace("RDS_INSTANCE_ID=\n", "RDS_INSTANCE_ID=bitbucket-db\n")
        .replace("AWS_ADDITIONAL_TAGS=\n",
            "AWS_ADDITIONAL_TAGS='{\"Key\":\"team\",\"Value\":\"scm\"}, {\"Key\":\"env\", \"Value\":\"prod\"}'\n")));

    assertThat(m.configuration())
        .containsEntry("amazon-ebs.volumes", "/media/atl:/dev/xvdf,/media/data-store-1:/dev/xvdg")
        .containsEntry("amazon-ebs.freeze", "true").containsEntry("amazon-ebs.restore-volume-type", "gp2")
        .doesNotContainKey("amazon-ebs.restore-iops") // the scripts pass RESTORE_DISK_IOPS for io1 only
        .containsEntry("amazon-ebs.region", "eu-west-1").containsEntry("amazon-rds.region", "eu-west-1")
        .containsEntry("amazon-rds.instance-id", "bitbucket-db").containsEntry("amazon-rds.restore-multi-az", "true")
        .containsEntry("amazon-ebs.tags", "team=scm,env=prod").containsEntry("amazon-rds.tags", "team=scm,env=prod")
        .doesNotContainKey("amazon-rds.aurora"); // IS_AURORA= : the default
    assertThat(String.join("\n", m.warnings())).contains("aws-snapshots")
        .doesNotContain("HOME_DIRECTORY_MOUNT_POINT", "FSFREEZE", "AWS_EC2_INSTANCE_TYPE", "not support");
  }

  @Test
  void a_mesh_node_ignores_the_database_type_with_a_warning_as_the_scripts_do() throws Exception {
    Path vars = write("mesh.vars.sh", shipped(POSTGRES_RSYNC).replace("INSTANCE_NAME=bitbucket",
        "INSTANCE_NAME=mesh-1\nINSTANCE_TYPE=bitbucket-mesh"));

    Config c = load(vars);

    assertThat(c.values()).containsEntry("instance.type", "bitbucket-mesh").containsEntry("database.type", "none");
    assertThat(c.warnings()).singleElement().asString()
        .contains("INSTANCE_TYPE=bitbucket-mesh", "BACKUP_DATABASE_TYPE=postgresql is ignored");
  }

  @Test
  void an_mssql_vars_file_maps_to_the_mssql_provider_and_asks_for_its_backup_directory() throws Exception {
    Path vars = write("mssql.vars.sh", shipped(MAIN).replace("BACKUP_DATABASE_TYPE=postgresql",
        "BACKUP_DATABASE_TYPE=mssql").replace("BITBUCKET_BACKUP_PASS=\n", "BITBUCKET_BACKUP_PASS=x\n")
        .replace("BITBUCKET_BACKUP_ROOT=\n", "BITBUCKET_BACKUP_ROOT=" + temp.resolve("work") + "\n"));

    Run r = run("check", "--vars-file", vars.toString());

    assertThat(r.code()).as(r.all()).isEqualTo(2);
    assertThat(r.err()).contains("mssql.server-dir").doesNotContain("No database provider named");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();
  }

  @Test
  void a_mysql_vars_file_maps_to_the_mysql_provider_with_its_variables() throws Exception {
    Path vars = write("mysql.vars.sh", shipped(MAIN).replace("BACKUP_DATABASE_TYPE=postgresql",
        "BACKUP_DATABASE_TYPE=mysql").replace("MYSQL_HOST=\n", "MYSQL_HOST=db.example\n")
        .replace("MYSQL_USERNAME=\n", "MYSQL_USERNAME=bb\n").replace("MYSQL_PASSWORD=\n", "MYSQL_PASSWORD=s3cret\n")
        .replace("MYSQL_BACKUP_OPTIONS=\n", "MYSQL_BACKUP_OPTIONS=--skip-extended-insert\n")
        .replace("BITBUCKET_BACKUP_PASS=\n", "BITBUCKET_BACKUP_PASS=x\n")
        .replace("BITBUCKET_BACKUP_ARCHIVE_ROOT=\n", "BITBUCKET_BACKUP_ARCHIVE_ROOT=/backup/archives\n"));

    Config c = load(vars);

    assertThat(c.values()).containsEntry("database.type", "mysql").containsEntry("mysql.host", "db.example")
        .containsEntry("mysql.user", "bb").containsEntry("mysql.options", "--skip-extended-insert")
        .containsKey("mysql.database");
    assertThat(c.warnings()).noneSatisfy(w -> assertThat(w).contains("MYSQL"));
  }

  @Test
  void a_plugin_named_like_a_strategy_bbdiy_lacks_makes_the_vars_file_work_as_it_is() throws Exception {
    Path plugins = Files.createDirectories(temp.resolve("plugins"));
    // postgresql-fslevel: a strategy of Atlassian's scripts that bbdiy maps to none unless a provider has its name.
    PluginJars.jar(plugins.resolve("fslevel.jar"), PluginJars.DATABASE, Map.of("AcmeFslevel",
        PluginJars.ACME_SQLITE.replace("AcmeSqliteProvider", "AcmeFslevel")
        .replace("\"acme-sqlite\"", "\"postgresql-fslevel\"")));
    Path vars = write("fslevel.vars.sh", shipped(MAIN).replace("BACKUP_DATABASE_TYPE=postgresql",
        "BACKUP_DATABASE_TYPE=postgresql-fslevel")
        .replace("BITBUCKET_BACKUP_PASS=\n", "BITBUCKET_BACKUP_PASS=x\n")
        .replace("BITBUCKET_BACKUP_ARCHIVE_ROOT=\n", "BITBUCKET_BACKUP_ARCHIVE_ROOT=/backup/archives\n")
        + "ACME_SQLITE_DB=/srv/fslevel.db\n");

    Config c = Config.load(null, vars, Map.of(), env,
        Plugins.load(Plugins.directories(plugins.toString()), plugins).registry());

    assertThat(c.values()).containsEntry("database.type", "postgresql-fslevel")
        .containsEntry("postgresql-fslevel.database", "/srv/fslevel.db");
    assertThat(c.warnings()).noneSatisfy(w -> assertThat(w).contains("fslevel"));
  }

  @Test
  void zfs_maps_to_the_zfs_provider() throws Exception {
    Path zfs = write("zfs.vars.sh", shipped(POSTGRES_RSYNC).replace("BACKUP_DISK_TYPE=rsync", "BACKUP_DISK_TYPE=zfs"));
    Run r = run("check", "--vars-file", zfs.toString());
    assertThat(r.code()).as("no Bitbucket answers here").isNotZero();
    assertThat(r.err()).as("zfs names the zfs provider now").doesNotContain("No home provider named")
        .doesNotContain("no zfs provider");
  }

  @Test
  void gpg_zip_is_tar_encrypted_to_the_recipient_uncompressed_as_their_restore_reads_it() throws Exception {
    Path vars = write("gpg.vars.sh", shipped(MAIN).replace("BACKUP_ARCHIVE_TYPE=tar", "BACKUP_ARCHIVE_TYPE=gpg-zip")
        .replace("BITBUCKET_BACKUP_GPG_RECIPIENT=\n", "BITBUCKET_BACKUP_GPG_RECIPIENT=backup@example.com\n")
        .replace("BITBUCKET_BACKUP_PASS=\n", "BITBUCKET_BACKUP_PASS=x\n")
        .replace("BITBUCKET_BACKUP_ARCHIVE_ROOT=\n", "BITBUCKET_BACKUP_ARCHIVE_ROOT=/backup/archives\n"));

    VarsMapping.Result m = mapping(vars);

    assertThat(m.configuration()).containsEntry("archive.type", "tar")
        .containsEntry("tar.gpg-recipient", "backup@example.com").containsEntry("tar.require-encryption", "true")
        .containsEntry("tar.compression", "none").containsEntry("tar.dir", "/backup/archives");
    assertThat(m.origins()).containsEntry("tar.gpg-recipient", "BITBUCKET_BACKUP_GPG_RECIPIENT")
        .containsEntry("archive.type", "BACKUP_ARCHIVE_TYPE");
    assertThat(m.warnings()).singleElement().asString()
        .contains("BACKUP_ARCHIVE_TYPE=gpg-zip is read as archive.type=tar", "tar.gpg-recipient from"
            + " BITBUCKET_BACKUP_GPG_RECIPIENT");
  }

  @Test
  void gpg_zip_without_a_recipient_is_refused_before_anything_runs_and_tar_ignores_the_recipient()
      throws Exception {
    Path vars = write("gpg.vars.sh", shipped(POSTGRES_RSYNC).replace("BACKUP_ARCHIVE_TYPE=tar",
        "BACKUP_ARCHIVE_TYPE=gpg-zip"));
    Run g = run("backup", "--vars-file", vars.toString(), "--set", "bitbucket.url=" + bitbucket.url(), "--set",
        "work.dir=" + temp.resolve("work"), "--set", "tar.dir=" + temp.resolve("archives"));
    assertThat(g.code()).as(g.all()).isEqualTo(2);
    assertThat(g.err()).contains("tar.require-encryption", "BITBUCKET_BACKUP_GPG_RECIPIENT")
        .doesNotContain("No archiver named");
    assertThat(bitbucket.server().calls(Endpoint.LOCK)).isZero();

    // BACKUP_ARCHIVE_TYPE=tar: Atlassian's tar strategy does not encrypt, whatever the recipient says.
    VarsMapping.Result tar = mapping(write("tar.vars.sh", shipped(MAIN)
        .replace("BITBUCKET_BACKUP_GPG_RECIPIENT=\n", "BITBUCKET_BACKUP_GPG_RECIPIENT=backup@example.com\n")));
    assertThat(tar.configuration()).containsEntry("archive.type", "tar").doesNotContainKey("tar.gpg-recipient")
        .doesNotContainKey("tar.require-encryption");
    assertThat(String.join("\n", tar.warnings())).contains("BITBUCKET_BACKUP_GPG_RECIPIENT is not used");
  }

  @Test
  void variables_holding_the_example_values_are_silent_and_others_are_named_without_their_values()
      throws Exception {
    Path vars = write("vars.sh", shipped(POSTGRES_RSYNC) + String.join("\n",
        "HIPCHAT_URL=https://api.hipchat.com",
        "HIPCHAT_ROOM=",
        "ELASTICSEARCH_HOST=localhost:7992",
        "STANDBY_DATABASE_SERVICE_USER=postgres",
        "BACKUP_ELASTICSEARCH_TYPE=",
        ""));
    assertThat(load(vars).warnings()).isEmpty();

    Files.writeString(vars, Files.readString(vars) + String.join("\n",
        "HIPCHAT_TOKEN=Hip-Token-77",
        "ELASTICSEARCH_HOST=search.example.com:9200",
        "ELASTICSEARCH_PASSWORD=Es-Secret-88",
        "STANDBY_SSH_HOST=standby.example.com",
        "CURL_OPTIONS='-k -s'",
        "PG_PARALLEL='-j 2'",
        "SOMETHING_ELSE=1",
        ""));
    List<String> warnings = load(vars).warnings();
    String all = String.join("\n", warnings);
    assertThat(all).contains("HIPCHAT_TOKEN is not used: HipChat no longer exists",
        "ELASTICSEARCH_HOST, ELASTICSEARCH_PASSWORD are not used", "STANDBY_SSH_HOST is not used",
        "CURL_OPTIONS is not used", "PG_PARALLEL is not used", "not support, not used: SOMETHING_ELSE")
        .doesNotContain("Hip-Token-77", "Es-Secret-88", "search.example.com");
  }

  /** The variables the CLI's former hand-written mapping knew are all declared on a setting now. */
  @Test
  void every_variable_mapped_before_is_declared_on_a_setting() {
    java.util.Set<String> declared = new java.util.HashSet<>();
    CoreKeys.GROUPS.values().forEach(list -> list.forEach(s -> declared.addAll(s.varsFile())));
    ProviderRegistry.load().entries().forEach(e -> e.provider().settings().forEach(s -> declared.addAll(s.varsFile())));

    assertThat(declared).contains("BITBUCKET_URL", "BITBUCKET_BACKUP_USER", "BITBUCKET_BACKUP_PASS", "INSTANCE_NAME",
        "INSTANCE_TYPE", "BITBUCKET_HOME", "BITBUCKET_DATA_STORES", "BITBUCKET_BACKUP_EXCLUDE_REPOS", "BITBUCKET_UID",
        "BITBUCKET_GID", "BACKUP_DISK_TYPE", "BACKUP_DATABASE_TYPE", "BACKUP_ARCHIVE_TYPE", "BACKUP_ZERO_DOWNTIME",
        "BITBUCKET_DB", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USERNAME", "POSTGRES_PASSWORD", "PGPASSWORD",
        "BITBUCKET_BACKUP_ROOT", "BITBUCKET_BACKUP_ARCHIVE_ROOT", "KEEP_BACKUPS", "BITBUCKET_VERBOSE_BACKUP",
        "EBS_VOLUME_MOUNT_POINT_AND_DEVICE_NAMES", "AWS_REGION", "RDS_INSTANCE_ID", "IS_AURORA", "BACKUP_DEST_REGION",
        "BACKUP_DEST_AWS_ACCOUNT_ID", "BACKUP_DEST_AWS_ROLE", "AWS_ADDITIONAL_TAGS", "RESTORE_RDS_INSTANCE_CLASS",
        "RESTORE_RDS_SUBNET_GROUP_NAME", "RESTORE_RDS_SECURITY_GROUP", "RESTORE_DISK_VOLUME_TYPE", "RESTORE_DISK_IOPS",
        "FSFREEZE", "RESTORE_RDS_MULTI_AZ");
  }

  @Test
  void work_dir_is_needed_only_when_a_provider_stages_files() throws Exception {
    Path password = Files.writeString(temp.resolve("password"), "admin\n");
    Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
    String[] common = {"--set", "bitbucket.url=" + bitbucket.url(), "--set", "bitbucket.user=admin", "--set",
        "bitbucket.password.file=" + password, "--set", "tar.dir=" + temp.resolve("archives")};

    Run snapshot = run(concat(new String[] {"backup", "--set", "home.type=scripted-snapshot"}, common));
    assertThat(snapshot.code()).as(snapshot.all()).isZero();
    assertThat(temp.resolve("state/bitbucket")).isDirectory();

    Run copy = run(concat(new String[] {"backup", "--set", "instance.home=" + temp, "--set", "home.type=copy"},
        common));
    assertThat(copy.code()).as(copy.all()).isEqualTo(2);
    assertThat(copy.err()).contains("work.dir is not configured: home.type=copy stages the backup there");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
