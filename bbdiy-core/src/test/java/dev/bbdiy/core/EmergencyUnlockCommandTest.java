package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.spi.Secret;
import dev.bbdiy.simulator.FakeBitbucketServer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command bbdiy prints when it cannot unlock must work against a real Bitbucket, which takes the
 * administrator's credentials and the token in the maintenance header, as Atlassian's scripts send them: run it
 * with curl against the simulator configured to require both.
 */
class EmergencyUnlockCommandTest {
  @Test
  void the_printed_command_unlocks_a_bitbucket_that_wants_credentials_and_the_token_header() throws Exception {
    try (FakeBitbucketServer server = FakeBitbucketServer.builder().unlockNeedsAdmin(true).start()) {
      MaintenanceClient client = MaintenanceClient.builder(server.url()).credentials("admin", Secret.of("admin"))
          .build();
      MaintenanceLock lock = client.lock();
      String command = client.unlockCommand(lock.unlockToken());
      assertThat(command).contains("-u 'admin' ").doesNotContain("admin:admin");

      // Without credentials, as the command bbdiy printed before, it does not unlock.
      String bare = "curl -f -X DELETE -H 'Accept: application/json' '" + server.url() + "/mvc/maintenance/lock?token="
          + lock.unlockToken() + "'";
      assertThat(sh(bare)).isNotZero();
      assertThat(server.isLocked()).isTrue();

      // The printed command, with the password curl asks for typed in.
      assertThat(sh(command.replace("-u 'admin' ", "-u 'admin:admin' "))).isZero();
      assertThat(server.isLocked()).isFalse();
    }
  }

  @Test
  void the_client_itself_unlocks_such_a_bitbucket() {
    try (FakeBitbucketServer server = FakeBitbucketServer.builder().unlockNeedsAdmin(true).start()) {
      MaintenanceClient client = MaintenanceClient.builder(server.url()).credentials("admin", Secret.of("admin"))
          .build();
      client.unlock(client.lock());
      assertThat(server.isLocked()).isFalse();
    }
  }

  private static int sh(String command) throws Exception {
    Process p = new ProcessBuilder(List.of("sh", "-c", command)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int code = p.waitFor();
    System.out.println(command + " -> " + code + ": " + out);
    return code;
  }
}
