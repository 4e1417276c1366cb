package dev.bbdiy.mesh;

import dev.bbdiy.api.BbdiyException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One Mesh node as {@code mesh.nodes} names it: {@code <name>=<user>@<host>[:<port>]:<mesh home>[:<provider>]},
 * e.g. {@code mesh1=bbdiy@mesh1.example.com:/var/atlassian/application-data/mesh:copy}. The port defaults to
 * ssh's own (its configuration, else 22), the provider to {@code copy}.
 *
 * @param name the node's name in the backup ({@code mesh/<name>/}) and in messages
 * @param user the SSH user
 * @param host a host name, an IPv4 address or an IPv6 address in brackets
 * @param port the SSH port, or 0 for ssh's own default
 * @param home the Mesh home on the node, absolute
 * @param provider the home provider the node captures its home with
 */
public record NodeSpec(String name, String user, String host, int port, Path home, String provider) {
  private static final Pattern ENTRY = Pattern.compile("([a-z0-9][a-z0-9-]{0,31})=([a-z_][a-z0-9_.-]{0,31})@"
      + "(\\[[0-9A-Fa-f:.]{2,45}\\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?::([0-9]{1,5}))?:(/[^:,]*)"
      + "(?::([a-z][a-z0-9-]{0,31}))?");
  private static final String SYNTAX = "<name>=<user>@<host>[:<port>]:<mesh home>[:<provider>], e.g."
      + " mesh1=bbdiy@mesh1.example.com:/var/atlassian/application-data/mesh:copy";

  public NodeSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(home, "home");
    Objects.requireNonNull(provider, "provider");
  }

  /** Returns {@code user@host} as ssh is given it (without the port). */
  public String destination() {
    return user + "@" + host;
  }

  /** Returns the entry as {@code mesh.nodes} writes it. */
  @Override
  public String toString() {
    return name + "=" + user + "@" + host + (port == 0 ? "" : ":" + port) + ":" + home + ":" + provider;
  }

  /**
   * Parses the value of {@code mesh.nodes}: entries separated by commas (blanks around them ignored).
   *
   * @throws BbdiyException with {@code CONFIGURATION}, naming the entry and the syntax, for anything else
   */
  public static List<NodeSpec> parseAll(String value) {
    List<NodeSpec> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> places = new HashSet<>();
    for (String raw : value.split(",", -1)) {
      String entry = raw.strip();
      if (entry.isEmpty()) {
        if (value.isBlank()) {
          break;
        }
        throw BbdiyException.configuration("mesh.nodes has an empty entry (two commas, or one at an end): write "
            + SYNTAX);
      }
      NodeSpec spec = parse(entry);
      if (!names.add(spec.name())) {
        throw BbdiyException.configuration("mesh.nodes names the node '" + spec.name() + "' twice: node names must"
            + " be unique, they name each node's part of the backup");
      }
      if (!places.add(spec.host() + ":" + spec.port() + ":" + spec.home())) {
        throw BbdiyException.configuration("mesh.nodes lists " + spec.host() + ":" + spec.home() + " twice");
      }
      out.add(spec);
    }
    if (out.isEmpty()) {
      throw BbdiyException.configuration("mesh.nodes lists no node: write " + SYNTAX + " (comma-separated)");
    }
    return List.copyOf(out);
  }

  /** Parses one entry. */
  public static NodeSpec parse(String entry) {
    Matcher m = ENTRY.matcher(entry);
    if (!m.matches()) {
      throw BbdiyException.configuration("mesh.nodes entry '" + shown(entry) + "' is not " + SYNTAX
          + ". Node names are lower-case letters, digits and '-'; the Mesh home is an absolute path without"
          + " ':' or ','.");
    }
    int port = 0;
    if (m.group(4) != null) {
      port = Integer.parseInt(m.group(4));
      if (port < 1 || port > 65535) {
        throw BbdiyException.configuration("mesh.nodes entry '" + shown(entry) + "': port " + port
            + " is not from 1 to 65535");
      }
    }
    String homeText = m.group(5);
    for (char c : homeText.toCharArray()) {
      if (c < 0x20 || c == 0x7f) {
        throw BbdiyException.configuration("mesh.nodes entry '" + shown(entry) + "': the Mesh home holds a"
            + " control character");
      }
    }
    Path home = Path.of(homeText);
    if (!home.normalize().toString().equals(homeText) || homeText.equals("/")) {
      throw BbdiyException.configuration("mesh.nodes entry '" + shown(entry) + "': the Mesh home must be an"
          + " absolute, normalized path other than / (no '.', '..', '//' or trailing '/')");
    }
    String provider = m.group(6) == null ? "copy" : m.group(6);
    if (provider.equals(MeshProvider.NAME)) {
      throw BbdiyException.configuration("mesh.nodes entry '" + shown(entry) + "': a node captures its own home"
          + " with a home provider such as copy or rsync, not with mesh");
    }
    return new NodeSpec(m.group(1), m.group(2), m.group(3), port, home, provider);
  }

  private static String shown(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : (s.length() > 200 ? s.substring(0, 200) + "..." : s).toCharArray()) {
      sb.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return sb.toString();
  }
}
