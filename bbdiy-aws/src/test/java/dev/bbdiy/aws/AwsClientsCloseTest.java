package dev.bbdiy.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BitbucketInstance;
import dev.bbdiy.api.Phase;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.testkit.TestContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/** The AWS providers' close hook closes the SDK clients (and their credentials) the instance opened. */
class AwsClientsCloseTest {
  @TempDir Path temp;
  FakeAws aws;

  @BeforeEach
  void start() throws Exception {
    aws = new FakeAws();
  }

  @AfterEach
  void stop() {
    aws.close();
  }

  /** A client or credentials provider that records its closing. */
  static class Resource implements SdkAutoCloseable {
    final String name;
    final List<String> closed;
    final boolean fails;

    Resource(String name, List<String> closed, boolean fails) {
      this.name = name;
      this.closed = closed;
      this.fails = fails;
    }

    @Override
    public void close() {
      closed.add(name);
      if (fails) {
        throw new IllegalStateException(name + " failed to close");
      }
    }
  }

  static final class Credentials extends Resource implements AwsCredentialsProvider {
    Credentials(String name, List<String> closed) {
      super(name, closed, false);
    }

    @Override
    public AwsCredentials resolveCredentials() {
      return AwsBasicCredentials.create("AKIA", "secret");
    }
  }

  @Test
  void clients_closes_every_client_and_closable_credentials_once_even_when_one_fails() {
    List<String> closed = new ArrayList<>();
    AwsSupport.Clients clients = new AwsSupport.Clients();
    clients.add(new Resource("ec2", closed, true), null);
    clients.add(new Resource("ec2-copy", closed, false), new Credentials("assumed-role", closed));

    clients.close();
    clients.close();

    assertThat(closed).containsExactly("ec2", "assumed-role", "ec2-copy");
  }

  @Test
  void amazon_ebs_closes_its_clients_at_its_end() throws Exception {
    Path mount = Files.createTempDirectory(Path.of("/dev/shm"), "bbdiy-ebs-close-");
    try {
      EbsProvider p = new EbsProvider();
      HomeSnapshotter s = p.create(context(p, Map.of("amazon-ebs.volumes", mount + ":/dev/xvdf",
          "amazon-ebs.endpoint", aws.url(), "amazon-ebs.imds-endpoint", aws.url()), mount));
      s.preflight(TestContexts.run(work(), Phase.PREFLIGHT)); // opens the EC2 client
      int calls = aws.calls.size();
      assertThat(calls).isPositive();

      s.close();

      assertThatThrownBy(() -> s.preflight(TestContexts.run(work(), Phase.PREFLIGHT)))
          .as("a closed client refuses to call").isInstanceOf(RuntimeException.class);
      assertThat(aws.calls).as("no request after the close").hasSize(calls);
    } finally {
      Files.deleteIfExists(mount);
    }
  }

  @Test
  void amazon_rds_closes_its_clients_at_its_end() throws Exception {
    RdsProvider p = new RdsProvider();
    DatabaseDumper d = p.create(context(p, Map.of("amazon-rds.instance-id", "bitbucket-db",
        "amazon-rds.endpoint", aws.url(), "amazon-rds.region", "us-east-1"), temp));
    d.preflight(TestContexts.run(work(), Phase.PREFLIGHT)); // opens the RDS client
    int calls = aws.calls.size();
    assertThat(calls).isPositive();

    d.close();

    assertThatThrownBy(() -> d.preflight(TestContexts.run(work(), Phase.PREFLIGHT)))
        .as("a closed client refuses to call").isInstanceOf(RuntimeException.class);
    assertThat(aws.calls).as("no request after the close").hasSize(calls);
  }

  private Path work() throws Exception {
    return Files.createDirectories(temp.resolve("work"));
  }

  private dev.bbdiy.api.spi.ProviderContext context(Provider p, Map<String, String> config, Path home)
      throws Exception {
    return TestContexts.providerContext(p, config, BitbucketInstance.of("bitbucket", home), work());
  }
}
