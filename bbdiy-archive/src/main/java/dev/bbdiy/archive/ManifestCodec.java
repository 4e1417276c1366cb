package dev.bbdiy.archive;

import dev.bbdiy.kit.FileMeta;

import com.squareup.moshi.JsonReader;
import com.squareup.moshi.JsonWriter;
import dev.bbdiy.api.Artifact;
import dev.bbdiy.api.BackupId;
import dev.bbdiy.api.BackupSummary;
import dev.bbdiy.api.InstanceType;
import dev.bbdiy.api.Phase;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import dev.bbdiy.kit.FileNames;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import okio.Okio;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes {@code manifest.json}: the summary fields first, then {@code "entries"}, one object per
 * backup entry in canonical walk order. Both directions stream, so a manifest of millions of entries never sits
 * in memory.
 *
 * <p>File names are bytes: a name (or link target) that is valid UTF-8 is written as text in {@code "path"}
 * ({@code "target"}); any other is written as the base64 of its bytes in {@code "pathBytes"} ({@code
 * "targetBytes"}). Exactly one of the two is present.
 */
public final class ManifestCodec {
  private static final HexFormat HEX = HexFormat.of();

  private ManifestCodec() {}

  /** Writes a manifest: the summary, then every entry {@code entries} yields. */
  public static void write(OutputStream out, BackupSummary summary, EntrySource entries) throws IOException {
    try (JsonWriter w = JsonWriter.of(Okio.buffer(Okio.sink(out)))) {
      w.setIndent(" ");
      w.beginObject();
      writeSummaryFields(w, summary);
      w.name("entries").beginArray();
      EntryRecord e;
      while ((e = entries.next()) != null) {
        writeEntry(w, e);
      }
      w.endArray();
      w.endObject();
    }
  }

  /**
   * Writes a manifest whose entries were already encoded, as a JSON array, into {@code entries} by an {@link
   * EntriesWriter}: the summary, then the array as it is. Archiving millions of files then never encodes the
   * entry list after the last file, when nothing else is left to overlap it with.
   */
  public static void write(OutputStream out, BackupSummary summary, Path entries) throws IOException {
    try (JsonWriter w = JsonWriter.of(Okio.buffer(Okio.sink(out)))) {
      w.setIndent(" ");
      w.beginObject();
      writeSummaryFields(w, summary);
      w.name("entries");
      try (okio.BufferedSink raw = w.valueSink(); okio.Source in = Okio.source(entries)) {
        raw.writeAll(in);
      }
      w.endObject();
    }
  }

  /**
   * Encodes manifest entries as they come, into a file holding one compact JSON array, for {@link
   * #write(OutputStream, BackupSummary, Path)}. Not thread-safe: one thread adds.
   */
  public static final class EntriesWriter implements Closeable {
    private final JsonWriter w;
    private boolean closed;

    public EntriesWriter(Path file) throws IOException {
      this.w = JsonWriter.of(Okio.buffer(Okio.sink(file)));
      w.beginArray();
    }

    /** Adds one entry, in canonical order. */
    public void add(EntryRecord e) throws IOException {
      writeEntry(w, e);
    }

    /** Ends the array and closes the file. */
    @Override
    public void close() throws IOException {
      if (!closed) {
        closed = true;
        w.endArray();
        w.close();
      }
    }
  }

  /** Writes a summary alone, as the sidecar file next to an archive holds it. */
  public static void writeSummary(OutputStream out, BackupSummary summary, Map<String, String> extra)
      throws IOException {
    try (JsonWriter w = JsonWriter.of(Okio.buffer(Okio.sink(out)))) {
      w.setIndent("  ");
      w.beginObject();
      writeSummaryFields(w, summary);
      for (Map.Entry<String, String> e : extra.entrySet()) {
        w.name(e.getKey()).value(e.getValue());
      }
      w.endObject();
    }
  }

  /** A source of entries to write. */
  public interface EntrySource {
    /** Returns the next entry or {@code null} at the end. */
    @Nullable EntryRecord next() throws IOException;
  }

  private static void writeSummaryFields(JsonWriter w, BackupSummary s) throws IOException {
    w.name("format").value(s.formatVersion());
    w.name("id").value(s.id().value());
    w.name("toolVersion").value(s.toolVersion());
    w.name("instance").value(s.instance());
    w.name("instanceType").value(s.instanceType().name());
    w.name("bitbucketUrl").value(s.bitbucketUrl());
    w.name("bitbucketVersion").value(s.bitbucketVersion());
    w.name("startedAt").value(s.startedAt().toString());
    w.name("consistentAt").value(s.consistentAt().toString());
    w.name("zeroDowntime").value(s.zeroDowntime());
    w.name("lockWindow").value(s.lockWindow() == null ? null : s.lockWindow().toString());
    w.name("drainedWindow").value(s.drainedWindow() == null ? null : s.drainedWindow().toString());
    w.name("files").value(s.files());
    w.name("bytes").value(s.bytes());
    w.name("phases").beginObject();
    for (Phase phase : Phase.values()) {
      Duration d = s.phases().get(phase);
      if (d != null) {
        w.name(phase.name()).value(d.toString());
      }
    }
    w.endObject();
    w.name("artifacts").beginArray();
    for (Artifact a : s.artifacts()) {
      w.beginObject();
      w.name("provider").value(a.provider());
      w.name("kind").value(a.kind().name());
      w.name("paths").beginArray();
      for (String p : a.paths()) {
        w.value(p);
      }
      w.endArray();
      w.name("properties").beginObject();
      for (Map.Entry<String, String> e : a.properties().entrySet()) {
        w.name(e.getKey()).value(e.getValue());
      }
      w.endObject();
      w.endObject();
    }
    w.endArray();
    w.name("settings").beginObject();
    for (Map.Entry<String, String> e : new TreeMap<>(s.settings()).entrySet()) {
      w.name(e.getKey()).value(e.getValue());
    }
    w.endObject();
  }

  private static void writeEntry(JsonWriter w, EntryRecord e) throws IOException {
    w.beginObject();
    writeName(w, "path", e.path());
    w.name("type").value(typeName(e.type()));
    if (e.type() == FileMeta.Type.FILE) {
      w.name("size").value(e.size());
      w.name("sha256").value(e.sha256Hex());
    }
    if (e.target() != null) {
      writeName(w, "target", e.target());
    }
    w.name("mode").value(octal(e.mode()));
    w.name("mtime").value(e.mtime());
    w.endObject();
  }

  /** Returns {@code mode} in octal with at least four digits, as {@code ls} shows it. */
  private static String octal(int mode) {
    String o = Integer.toOctalString(mode);
    return o.length() >= 4 ? o : "0000".substring(o.length()) + o;
  }

  private static void writeName(JsonWriter w, String field, String raw) throws IOException {
    String text = FileNames.utf8(raw);
    if (text != null) {
      w.name(field).value(text);
    } else {
      w.name(field + "Bytes").value(Base64.getEncoder().encodeToString(FileNames.toBytes(raw)));
    }
  }

  private static String typeName(FileMeta.Type t) {
    switch (t) {
      case FILE:
        return "file";
      case DIRECTORY:
        return "dir";
      case SYMLINK:
        return "symlink";
      case HARDLINK:
        return "hardlink";
      default:
        return "other";
    }
  }

  private static FileMeta.Type type(String name) {
    switch (name) {
      case "file":
        return FileMeta.Type.FILE;
      case "dir":
        return FileMeta.Type.DIRECTORY;
      case "symlink":
        return FileMeta.Type.SYMLINK;
      case "hardlink":
        return FileMeta.Type.HARDLINK;
      default:
        return FileMeta.Type.OTHER;
    }
  }

  private static String bytesField(String field, String base64) throws IOException {
    try {
      return FileNames.latin1(Base64.getDecoder().decode(base64));
    } catch (IllegalArgumentException e) {
      throw new IOException("A manifest entry's " + field + " is not base64");
    }
  }

  /**
   * A streaming reader of a manifest: {@link #summary()} is read on open; {@link #next()} returns the entries
   * one at a time.
   */
  public static final class Reader implements Closeable {
    private final JsonReader json;
    private final BackupSummary summary;
    private final Map<String, String> extra;
    private boolean entriesFound;

    public Reader(InputStream in) throws IOException {
      this.json = JsonReader.of(Okio.buffer(Okio.source(in)));
      Map<String, String> extraFields = new LinkedHashMap<>();
      this.summary = readSummary(json, extraFields);
      this.extra = extraFields;
    }

    /** Returns the summary. */
    public BackupSummary summary() {
      return summary;
    }

    /** Returns string fields the summary does not know, such as a sidecar's archive digest. */
    public Map<String, String> extra() {
      return extra;
    }

    /** Returns whether the manifest has an entry list (a sidecar summary has none). */
    public boolean hasEntries() {
      return entriesFound;
    }

    /** Returns the next entry, or {@code null} when there are no more. */
    public @Nullable EntryRecord next() throws IOException {
      if (!entriesFound || !json.hasNext()) {
        return null;
      }
      return readEntry(json);
    }

    @Override
    public void close() throws IOException {
      json.close();
    }

    private BackupSummary readSummary(JsonReader r, Map<String, String> extraFields) throws IOException {
      Map<String, Object> f = new LinkedHashMap<>();
      List<Artifact> artifacts = new ArrayList<>();
      Map<String, String> settings = new TreeMap<>();
      Map<Phase, Duration> phases = new EnumMap<>(Phase.class);
      r.beginObject();
      while (r.hasNext()) {
        String name = r.nextName();
        switch (name) {
          case "entries":
            r.beginArray();
            entriesFound = true;
            return build(f, artifacts, settings, phases);
          case "artifacts":
            r.beginArray();
            while (r.hasNext()) {
              artifacts.add(readArtifact(r));
            }
            r.endArray();
            break;
          case "settings":
            r.beginObject();
            while (r.hasNext()) {
              settings.put(r.nextName(), r.nextString());
            }
            r.endObject();
            break;
          case "phases":
            r.beginObject();
            while (r.hasNext()) {
              String phase = r.nextName();
              String value = r.nextString();
              try {
                phases.put(Phase.valueOf(phase), Duration.parse(value));
              } catch (IllegalArgumentException ignored) {
                // a phase of a newer version
              }
            }
            r.endObject();
            break;
          default:
            if (r.peek() == JsonReader.Token.NULL) {
              r.nextNull();
              f.put(name, null);
            } else if (r.peek() == JsonReader.Token.STRING || r.peek() == JsonReader.Token.NUMBER) {
              String v = r.nextString();
              f.put(name, v);
              extraFields.put(name, v);
            } else if (r.peek() == JsonReader.Token.BOOLEAN) {
              f.put(name, Boolean.toString(r.nextBoolean()));
            } else {
              r.skipValue();
            }
        }
      }
      r.endObject();
      return build(f, artifacts, settings, phases);
    }

    private static BackupSummary build(
        Map<String, Object> f, List<Artifact> artifacts, Map<String, String> settings,
        Map<Phase, Duration> phases) {
      String id = str(f, "id");
      if (id == null) {
        throw new IllegalArgumentException("The manifest has no id");
      }
      return new BackupSummary(
          Integer.parseInt(orDefault(str(f, "format"), "1")),
          new BackupId(id),
          orDefault(str(f, "toolVersion"), "unknown"),
          orDefault(str(f, "instance"), new BackupId(id).instanceName()),
          InstanceType.valueOf(orDefault(str(f, "instanceType"), "BITBUCKET")),
          str(f, "bitbucketUrl"),
          str(f, "bitbucketVersion"),
          instant(str(f, "startedAt")),
          instant(str(f, "consistentAt")),
          Boolean.parseBoolean(orDefault(str(f, "zeroDowntime"), "false")),
          artifacts,
          settings,
          phases,
          duration(str(f, "lockWindow")),
          duration(str(f, "drainedWindow")),
          Long.parseLong(orDefault(str(f, "files"), "0")),
          Long.parseLong(orDefault(str(f, "bytes"), "0")));
    }

    private static Artifact readArtifact(JsonReader r) throws IOException {
      String provider = "unknown";
      Artifact.Kind kind = Artifact.Kind.HOME;
      List<String> paths = new ArrayList<>();
      Map<String, String> props = new TreeMap<>();
      r.beginObject();
      while (r.hasNext()) {
        switch (r.nextName()) {
          case "provider":
            provider = r.nextString();
            break;
          case "kind":
            kind = Artifact.Kind.valueOf(r.nextString());
            break;
          case "paths":
            r.beginArray();
            while (r.hasNext()) {
              paths.add(r.nextString());
            }
            r.endArray();
            break;
          case "properties":
            r.beginObject();
            while (r.hasNext()) {
              props.put(r.nextName(), r.nextString());
            }
            r.endObject();
            break;
          default:
            r.skipValue();
        }
      }
      r.endObject();
      return new Artifact(provider, kind, paths, props);
    }

    private static EntryRecord readEntry(JsonReader r) throws IOException {
      String path = null;
      FileMeta.Type type = FileMeta.Type.OTHER;
      long size = 0;
      byte[] sha = null;
      int mode = 0;
      long mtime = 0;
      String target = null;
      r.beginObject();
      while (r.hasNext()) {
        switch (r.nextName()) {
          case "path":
            path = set(path, FileNames.fromText(r.nextString()), "path");
            break;
          case "pathBytes":
            path = set(path, bytesField("pathBytes", r.nextString()), "path");
            break;
          case "type":
            type = type(r.nextString());
            break;
          case "size":
            size = r.nextLong();
            break;
          case "sha256":
            sha = HEX.parseHex(r.nextString());
            break;
          case "mode":
            mode = Integer.parseInt(r.nextString(), 8);
            break;
          case "mtime":
            mtime = r.nextLong();
            break;
          case "target":
            target = set(target, FileNames.fromText(r.nextString()), "target");
            break;
          case "targetBytes":
            target = set(target, bytesField("targetBytes", r.nextString()), "target");
            break;
          default:
            r.skipValue();
        }
      }
      r.endObject();
      if (path == null) {
        throw new IOException("A manifest entry has no path");
      }
      return new EntryRecord(path, type, size, sha, mode, mtime, target);
    }

    private static String set(@Nullable String previous, String value, String field) throws IOException {
      if (previous != null) {
        throw new IOException("A manifest entry has its " + field + " twice");
      }
      return value;
    }

    private static @Nullable String str(Map<String, Object> f, String key) {
      Object v = f.get(key);
      return v == null ? null : v.toString();
    }

    private static String orDefault(@Nullable String v, String d) {
      return v == null ? d : v;
    }

    private static Instant instant(@Nullable String v) {
      return v == null ? Instant.EPOCH : Instant.parse(v);
    }

    private static @Nullable Duration duration(@Nullable String v) {
      return v == null ? null : Duration.parse(v);
    }
  }

  /** Returns a reader of the manifest in {@code in}. */
  public static Reader reader(InputStream in) throws IOException {
    return new Reader(in);
  }
}
