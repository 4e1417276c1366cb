package dev.bbdiy.restic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** restic's snapshot listing is input like any other: what does not check out is dropped. */
class SnapshotsTest {
  private static final String ID = "a".repeat(64);
  private static final String TREE = "b".repeat(64);

  private static Snapshots.Listing parse(String json) throws IOException {
    return Snapshots.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void reads_a_listing_and_ignores_unknown_fields() throws IOException {
    Snapshots.Listing l = parse("[{\"time\":\"2026-11-30T21:29:30.336542742+01:00\",\"tree\":\"" + TREE
        + "\",\"paths\":[\"/x\"],\"hostname\":\"vm\",\"tags\":[\"bbdiy\",\"bbdiy-id=b-20260101-000000\"],\"id\":\""
        + ID + "\",\"extra\":{\"nested\":[1,2]}}]");

    assertThat(l.dropped()).isZero();
    assertThat(l.snapshots()).hasSize(1);
    Snapshots.Snapshot s = l.snapshots().get(0);
    assertThat(s.time()).isEqualTo(Instant.parse("2026-11-30T20:29:30.336542742Z"));
    assertThat(s.tag("bbdiy-id")).isEqualTo("b-20260101-000000");
    assertThat(s.shortId()).isEqualTo("aaaaaaaa");
  }

  @Test
  void drops_snapshots_that_do_not_check_out() throws IOException {
    String good = "{\"id\":\"" + ID + "\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\"}";
    Snapshots.Listing l = parse("[" + good
        + ",{\"id\":\"../../etc\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\"}"
        + ",{\"id\":\"" + ID.toUpperCase() + "\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\"}"
        + ",{\"id\":\"" + ID + "\",\"tree\":\"" + TREE + "\",\"time\":\"yesterday\"}"
        + ",{\"id\":\"" + ID + "\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\",\"tags\":[1]}"
        + ",{\"id\":\"" + ID + "\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\",\"tags\":\"x\"}"
        + ",{\"id\":\"" + ID + "\",\"tree\":\"" + TREE + "\",\"time\":\"2026-01-01T00:00:00Z\",\"tags\":[\""
        + "x".repeat(10_000) + "\"]}"
        + ",{\"id\":\"" + ID + "\",\"time\":\"2026-01-01T00:00:00Z\"}"
        + ",\"not an object\",42,null]");

    assertThat(l.snapshots()).hasSize(1);
    assertThat(l.dropped()).isEqualTo(10);
  }

  @Test
  void output_that_is_not_a_list_is_an_error() throws IOException {
    assertThat(parse("null").snapshots()).isEmpty();
    assertThatThrownBy(() -> parse("{\"id\":1}")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> parse("[{\"id\":")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> parse("Fatal: wrong password")).isInstanceOf(IOException.class);
  }

  @Test
  void progress_lines_are_read_and_junk_ignored() {
    assertThat(Restic.jsonLine("{\"message_type\":\"status\",\"bytes_done\":12,\"current_files\":[\"/a\"]}"))
        .containsEntry("message_type", "status").containsEntry("bytes_done", 12.0);
    assertThat(Restic.jsonLine("{\"message_type\":\"error\",\"error\":{\"message\":\"denied\"},"
        + "\"item\":\"/x\"}")).containsEntry("error", "denied").containsEntry("item", "/x");
    assertThat(Restic.jsonLine("scan finished")).isNull();
    assertThat(Restic.jsonLine("{\"broken\":")).isNull();
  }
}
