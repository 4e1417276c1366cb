package dev.bbdiy.copy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Listing ahead keeps the walk's order and results, bounds what it holds, and reports failures in turn. */
class ListingAheadTest {
  /** A directory of a synthetic tree: {@code fanout} subdirectories down to {@code depth}, plus two files each. */
  record Node(String rel, boolean dir) {}

  static final int FANOUT = 6;
  static final int DEPTH = 4;

  final Set<String> listed = ConcurrentHashMap.newKeySet();
  final AtomicInteger listedNotWalked = new AtomicInteger();
  final AtomicInteger maxAhead = new AtomicInteger();

  List<Node> list(Path dir, String rel) throws IOException {
    if (rel.endsWith("broken")) {
      throw new NoSuchFileException(rel);
    }
    assertThat(listed.add(rel)).as("listed once: " + rel).isTrue();
    maxAhead.accumulateAndGet(listedNotWalked.incrementAndGet(), Math::max);
    try {
      Thread.sleep(1); // latency, as a network file system has
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Node> out = new ArrayList<>();
    int depth = rel.isEmpty() ? 0 : rel.split("/").length;
    for (int i = 0; i < FANOUT && depth < DEPTH; i++) {
      out.add(new Node(child(rel, "d" + i), true));
    }
    out.add(new Node(child(rel, "f0"), false));
    out.add(new Node(child(rel, "f1"), false));
    return out;
  }

  static String child(String rel, String name) {
    return rel.isEmpty() ? name : rel + "/" + name;
  }

  void walk(ListingAhead<Node> ahead, String rel, List<String> seen) throws IOException {
    List<Node> children = ahead.children(Path.of("/root", rel), rel);
    listedNotWalked.decrementAndGet();
    for (Node n : children) {
      seen.add(n.rel);
      if (n.dir) {
        walk(ahead, n.rel, seen);
      }
    }
  }

  ListingAhead<Node> ahead(int threads) {
    return new ListingAhead<>(this::list, new ListingAhead.Shape<>() {
      @Override
      public boolean isDirectory(Node n) {
        return n.dir;
      }

      @Override
      public Path path(Node n) {
        return Path.of("/root", n.rel);
      }

      @Override
      public String rel(Node n) {
        return n.rel;
      }
    }, threads);
  }

  @Test
  void the_walk_sees_what_a_walk_alone_sees_in_the_same_order_and_each_directory_is_listed_once() throws Exception {
    List<String> alone = new ArrayList<>();
    try (ListingAhead<Node> a = ahead(1)) {
      walk(a, "", alone);
    }
    listed.clear();
    listedNotWalked.set(0);
    maxAhead.set(0);
    List<String> ahead = new ArrayList<>();
    try (ListingAhead<Node> a = ahead(8)) {
      walk(a, "", ahead);
    }

    assertThat(ahead).isEqualTo(alone).hasSize(4664);
    // 8 threads list at most 32 directories ahead of the walk, whatever the tree's size (1,555 directories)
    assertThat(maxAhead.get()).isGreaterThan(1).isLessThanOrEqualTo(33);
  }

  @Test
  void a_failed_listing_fails_the_walk_when_it_gets_there() {
    ListingAhead<Node> a = new ListingAhead<>((dir, rel) -> rel.equals("d3") ? list(dir, "d3/broken")
        : list(dir, rel), new ListingAhead.Shape<>() {
          @Override
          public boolean isDirectory(Node n) {
            return n.dir;
          }

          @Override
          public Path path(Node n) {
            return Path.of("/root", n.rel);
          }

          @Override
          public String rel(Node n) {
            return n.rel;
          }
        }, 4);
    List<String> seen = new ArrayList<>();

    assertThatThrownBy(() -> walk(a, "", seen)).isInstanceOf(NoSuchFileException.class);
    a.close();
    assertThat(seen).contains("d2/d5/d5/d5/f1").doesNotContain("d3/f0");
  }
}
