package dev.bbdiy.mssql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.microsoft.sqlserver.jdbc.SQLServerDriver;
import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverPropertyInfo;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the provider hands Microsoft's JDBC driver: the URL and connection properties built from the settings (TLS,
 * trust store, SQL or integrated authentication). Checked without a server: every property name is one the real
 * driver lists, and no secret is in the URL.
 */
class MssqlConnectionSettingsTest {
  @TempDir Path temp;

  private MssqlConfig config(String... extra) throws Exception {
    Map<String, String> m = new HashMap<>();
    m.put("mssql.server-dir", "/srv/mssql-backups");
    m.put("mssql.local-dir", Files.createDirectories(temp.resolve("shared")).toString());
    for (int i = 0; i < extra.length; i += 2) {
      m.put(extra[i], extra[i + 1]);
    }
    MssqlProvider p = new MssqlProvider();
    return MssqlConfig.from(TestContexts.providerContext(p, m, BitbucketInstance.of("bitbucket", null),
        temp.resolve("work")).settings());
  }

  /** The names of the properties the real driver knows. */
  private static Set<String> driverProperties(String url) throws Exception {
    DriverPropertyInfo[] info = new SQLServerDriver().getPropertyInfo(url, new Properties());
    return Arrays.stream(info).map(i -> i.name).collect(Collectors.toSet());
  }

  @Test
  void by_default_encrypts_and_checks_the_certificate_and_keeps_the_password_out_of_the_url() throws Exception {
    MssqlConfig cfg = config("mssql.password", "s3cret;pw", "mssql.host", "db.example.com", "mssql.port", "1444");

    Properties p = JdbcSqlSession.properties(cfg, false);

    assertThat(JdbcSqlSession.url(cfg)).isEqualTo("jdbc:sqlserver://db.example.com:1444").doesNotContain("s3cret");
    assertThat(p).containsEntry("encrypt", "true").containsEntry("trustServerCertificate", "false")
        .containsEntry("user", "bitbucket").containsEntry("password", "s3cret;pw").containsEntry("databaseName",
            "master").doesNotContainKeys("trustStore", "trustStorePassword", "integratedSecurity");
    assertThat(driverProperties(JdbcSqlSession.url(cfg))).containsAll(p.stringPropertyNames());
  }

  @Test
  void passes_strict_encryption_a_trust_store_and_its_password() throws Exception {
    Path store = Files.writeString(temp.resolve("ca.p12"), "not read here");
    MssqlConfig cfg = config("mssql.encrypt", "Strict", "mssql.trust-store", store.toString(),
        "mssql.trust-store-password", "changeit", "mssql.trust-server-certificate", "false");

    Properties p = JdbcSqlSession.properties(cfg, false);

    assertThat(p).containsEntry("encrypt", "strict").containsEntry("trustServerCertificate", "false")
        .containsEntry("trustStore", store.toString()).containsEntry("trustStorePassword", "changeit");
    assertThat(driverProperties(JdbcSqlSession.url(cfg))).containsAll(p.stringPropertyNames());
  }

  @Test
  void trusting_any_certificate_is_an_explicit_choice() throws Exception {
    assertThat(JdbcSqlSession.properties(config("mssql.trust-server-certificate", "true"), false))
        .containsEntry("trustServerCertificate", "true");
    assertThat(JdbcSqlSession.properties(config("mssql.encrypt", "false"), false)).containsEntry("encrypt", "false");
  }

  @Test
  void integrated_authentication_uses_kerberos_outside_windows_and_sends_no_login() throws Exception {
    MssqlConfig cfg = config("mssql.integrated-security", "true", "mssql.password", "unused");

    Properties linux = JdbcSqlSession.properties(cfg, false);
    Properties windows = JdbcSqlSession.properties(cfg, true);

    assertThat(linux).containsEntry("integratedSecurity", "true").containsEntry("authenticationScheme",
        "JavaKerberos").doesNotContainKeys("user", "password");
    assertThat(windows).containsEntry("integratedSecurity", "true").doesNotContainKeys("authenticationScheme",
        "user", "password");
    assertThat(driverProperties(JdbcSqlSession.url(cfg))).containsAll(linux.stringPropertyNames());
  }

  @Test
  void an_unknown_encrypt_value_is_refused() {
    assertThatThrownBy(() -> config("mssql.encrypt", "yes"))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("true, false or strict");
  }
}
