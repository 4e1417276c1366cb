package dev.bbdiy.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.mesh.internal.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class NodeSpecTest {
  @Test
  void parsesEveryFormOfAnEntry() {
    List<NodeSpec> nodes = NodeSpec.parseAll(" mesh1=bbdiy@mesh1.example.com:/var/mesh ,"
        + "m-2=root@10.0.0.2:2222:/srv/mesh:rsync,m3=u@[::1]:22:/m");
    assertThat(nodes).containsExactly(
        new NodeSpec("mesh1", "bbdiy", "mesh1.example.com", 0, Path.of("/var/mesh"), "copy"),
        new NodeSpec("m-2", "root", "10.0.0.2", 2222, Path.of("/srv/mesh"), "rsync"),
        new NodeSpec("m3", "u", "[::1]", 22, Path.of("/m"), "copy"));
    assertThat(nodes.get(1)).hasToString("m-2=root@10.0.0.2:2222:/srv/mesh:rsync");
  }

  @Test
  void refusesHostileOrAmbiguousEntries() {
    for (String bad : List.of("", "x", "a=b@-oProxyCommand=x:/m", "a=b@h:/m/../etc", "a=b@h:relative",
        "a=b@h:/", "A=b@h:/m", "a=b@h:99999:/m", "a=b@h:/m:mesh", "a=b@h:/m,,c=d@h:/n", "a=b@h:/m\u0001x",
        "a=b@h:/m,a=c@h2:/n", "a=b@h:/m,c=b@h:/m", "a=$(reboot)@h:/m", "a=b@h;x:/m", "a=b@h:/m/")) {
      assertThatThrownBy(() -> NodeSpec.parseAll(bad)).as(bad).isInstanceOf(BbdiyException.class)
          .hasMessageContaining("mesh.nodes");
    }
  }

  @Test
  void jsonRoundTripsAndRefusesJunk() {
    Map<String, Object> m = Json.parseObject(Json.write(Map.of("op", "x\"\n\u0001é", "n", 5L,
        "l", List.of("a"), "o", Map.of("k", "v"), "b", true)));
    assertThat(m).containsEntry("op", "x\"\n\u0001é").containsEntry("n", 5L).containsEntry("b", true)
        .containsEntry("l", List.of("a")).containsEntry("o", Map.of("k", "v"));
    for (String bad : List.of("", "[]", "{", "{\"a\":1}x", "{\"a\":1.5}", "{\"a\":1,\"a\":2}", "{a:1}",
        "{\"a\":\"\u0001\"}", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]".replace("[", "{\"a\":").replace("]", "}"))) {
      assertThatThrownBy(() -> Json.parseObject(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void isRegisteredAndRefusesWeakenedHostKeyChecking() {
    assertThat(ServiceLoader.load(dev.bbdiy.api.spi.HomeSnapshotterProvider.class).stream()
        .map(p -> p.get().name())).contains("mesh", "copy");
    for (String opt : List.of("-o StrictHostKeyChecking=no", "-oUserKnownHostsFile=/dev/null",
        "-o BatchMode=no")) {
      assertThatThrownBy(() -> dev.bbdiy.mesh.internal.MeshConfig.from(dev.bbdiy.api.spi.Settings.of("mesh",
          new MeshProvider().settings(), Map.of("mesh.nodes", "a=b@h:/m", "mesh.ssh-options", opt))))
          .isInstanceOf(BbdiyException.class).hasMessageContaining("host key");
    }
  }
}
