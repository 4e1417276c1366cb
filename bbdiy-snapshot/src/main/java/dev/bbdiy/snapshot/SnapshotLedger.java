package dev.bbdiy.snapshot;

import dev.bbdiy.api.BackupId;
import dev.bbdiy.kit.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * What a snapshot provider created, kept in its state directory so that nothing it made is ever forgotten: a run
 * writes its record <em>before</em> it creates a snapshot, so that a run killed with SIGKILL at any point leaves a
 * record the next run reads to release what may exist. A record is {@code pending} until the backup is verified,
 * then deleted with its snapshots, or {@code kept} while local snapshots are kept for fast restores.
 *
 * <p>One line per snapshot: {@code snap<TAB>label<TAB>reference<TAB>mount point}; the first line is {@code pid
 * <n>}, the process that wrote it, so that a record of a run still alive is never taken for a leftover.
 */
final class SnapshotLedger {
  /** The state of a record. */
  enum State {
    PENDING,
    KEPT
  }

  /** One snapshot: a label ({@code home}, {@code store-1}), what names it to the tool, where it is mounted. */
  record Snap(String label, String reference, String mount) {
    Snap {
      for (String s : List.of(label, reference, mount)) {
        if (s.indexOf('\t') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
          throw new IllegalArgumentException("A snapshot name may not contain tabs or line breaks: " + s);
        }
      }
    }
  }

  /** A record: the backup it belongs to, its state, the writer's pid, its snapshots. */
  record Entry(BackupId id, State state, OptionalLong pid, List<Snap> snaps) {
    /** Returns whether the process that wrote it is still running on this machine. */
    boolean writerAlive() {
      return pid.isPresent() && pid.getAsLong() != ProcessHandle.current().pid()
          && ProcessHandle.of(pid.getAsLong()).map(ProcessHandle::isAlive).orElse(false);
    }
  }

  private final Path dir;

  SnapshotLedger(Path stateDirectory) {
    this.dir = stateDirectory.resolve("snapshots");
  }

  Path directory() {
    return dir;
  }

  /** Records, durably, that this run is about to create {@code snaps} for backup {@code id}. */
  void pending(BackupId id, List<Snap> snaps) throws IOException {
    PrivateFiles.createPrivateDirectories(dir);
    StringBuilder sb = new StringBuilder("pid " + ProcessHandle.current().pid() + "\n");
    for (Snap s : snaps) {
      sb.append("snap\t").append(s.label()).append('\t').append(s.reference()).append('\t').append(s.mount())
          .append('\n');
    }
    PrivateFiles.writeAtomically(file(id, State.PENDING), sb.toString());
  }

  /** Turns the pending record of {@code id} into a kept one. */
  void keep(BackupId id) throws IOException {
    PrivateFiles.moveAtomically(file(id, State.PENDING), file(id, State.KEPT));
  }

  /** Forgets the record of {@code id}, in either state. */
  void forget(BackupId id) throws IOException {
    Files.deleteIfExists(file(id, State.PENDING));
    Files.deleteIfExists(file(id, State.KEPT));
  }

  /** Returns every record, oldest backup first (backup ids sort by time). */
  List<Entry> entries() throws IOException {
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.{pending,kept}")) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        int dot = name.lastIndexOf('.');
        State state = name.endsWith(".kept") ? State.KEPT : State.PENDING;
        BackupId id;
        try {
          id = new BackupId(name.substring(0, dot));
        } catch (RuntimeException e) {
          continue; // not ours
        }
        out.add(read(id, state, f));
      }
    }
    out.sort((a, b) -> a.id().value().compareTo(b.id().value()));
    return out;
  }

  private static Entry read(BackupId id, State state, Path f) throws IOException {
    OptionalLong pid = OptionalLong.empty();
    List<Snap> snaps = new ArrayList<>();
    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
      if (line.startsWith("pid ")) {
        try {
          pid = OptionalLong.of(Long.parseLong(line.substring(4).trim()));
        } catch (NumberFormatException ignored) {
          // unknown writer: treated as dead
        }
      } else if (line.startsWith("snap\t")) {
        String[] p = line.split("\t", -1);
        if (p.length == 4) {
          snaps.add(new Snap(p[1], p[2], p[3]));
        }
      }
    }
    return new Entry(id, state, pid, List.copyOf(snaps));
  }

  private Path file(BackupId id, State state) {
    return dir.resolve(id.value() + (state == State.KEPT ? ".kept" : ".pending"));
  }
}
