package dev.bbdiy.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.mesh.internal.Frames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bbdiy node}'s side of the protocol, in process, with the copy provider. */
class MeshNodeTest {
  @TempDir Path temp;

  PipedOutputStream toNode;
  Frames.Out requests;
  Frames.In answers;
  CompletableFuture<Integer> exit;

  @BeforeEach
  void start() throws IOException {
    toNode = new PipedOutputStream();
    PipedInputStream nodeIn = new PipedInputStream(toNode, 1 << 20);
    PipedOutputStream nodeOut = new PipedOutputStream();
    PipedInputStream fromNode = new PipedInputStream(nodeOut, 1 << 20);
    requests = new Frames.Out(toNode);
    answers = new Frames.In(fromNode);
    MeshNode node = new MeshNode(name -> ServiceLoader.load(HomeSnapshotterProvider.class).stream()
        .map(ServiceLoader.Provider::get).filter(p -> p.name().equals(name)).findFirst()
        .orElseThrow(() -> BbdiyException.configuration("no " + name)), "test");
    exit = CompletableFuture.supplyAsync(() -> {
      try {
        return node.serve(nodeIn, nodeOut);
      } finally {
        try {
          nodeOut.close();
        } catch (IOException ignored) {
          // test end
        }
      }
    });
  }

  Map<String, Object> call(Map<String, Object> request) throws IOException {
    requests.writeObject(request);
    while (true) {
      Map<String, Object> m = answers.readObject();
      assertThat(m).as("an answer to " + request).isNotNull();
      if (m.containsKey("ok")) {
        return m;
      }
    }
  }

  @Test
  void answers_hello_and_refuses_bad_requests_without_dying() throws Exception {
    assertThat(call(Map.of("op", "hello", "id", 1L, "protocol", 1L))).containsEntry("ok", true);
    assertThat(call(Map.of("op", "capture", "id", 2L)).toString()).contains("ok=false", "preflight first");
    assertThat(call(Map.of("op", "rm -rf /", "id", 3L)).toString()).contains("unknown request");
    assertThat(call(Map.of("op", "preflight", "id", 4L, "backupId", "bitbucket-20261201-010101", "node", "n1",
        "home", "relative/home", "provider", "copy", "workDir", temp.resolve("w").toString())).toString())
        .contains("ok=false", "absolute");
    Files.writeString(temp.resolve("something"), "x");
    assertThat(call(Map.of("op", "restore", "id", 5L, "target", temp.toString(), "check", true)).toString())
        .contains("REFUSED", "not empty");
    requests.writeObject(Map.of("op", "bye", "id", 6L));
    assertThat(exit.get(10, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void a_whole_run_then_the_end_of_input_aborts() throws Exception {
    Path home = Files.createDirectories(temp.resolve("mesh-home/shared/data/repositories/1"));
    Files.writeString(home.resolve("HEAD"), "ref: refs/heads/main\n");
    Map<String, Object> preflight = Map.of("op", "preflight", "id", 1L, "backupId", "bitbucket-20261201-010101",
        "node", "n1", "home", temp.resolve("mesh-home").toString(), "provider", "copy",
        "workDir", temp.resolve("work").toString());
    assertThat(call(preflight)).containsEntry("ok", true);
    assertThat(call(Map.of("op", "prepare", "id", 2L))).containsEntry("ok", true);
    assertThat(call(Map.of("op", "capture", "id", 3L))).containsEntry("ok", true);
    assertThat(call(Map.of("op", "complete", "id", 4L)).toString()).contains("paths=[bitbucket-home]");
    requests.writeObject(Map.of("op", "send", "id", 5L));
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    Map<String, Object> m;
    while (!(m = answers.readObject()).containsKey("ok")) {
      if (m.get("chunk") instanceof Long) {
        answers.readChunk((Long) m.get("chunk"), tar);
      }
    }
    assertThat(m).containsEntry("ok", true);
    assertThat(tar.toString(java.nio.charset.StandardCharsets.ISO_8859_1))
        .contains("bitbucket-home/shared/data/repositories/1/HEAD");

    toNode.close(); // the coordinator went away

    assertThat(exit.get(10, TimeUnit.SECONDS)).isEqualTo(3);
  }
}
