package dev.bbdiy.kit;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Matches relative paths against anchored rsync exclude patterns the way rsync does: a leading {@code /} anchors
 * at the transfer root, a trailing {@code /} matches directories only, {@code *} matches within one path
 * component, {@code ?} one character. Only anchored patterns are supported, which is all bbdiy generates.
 */
public final class ExcludeMatcher {
  private record Rule(List<Pattern> components, boolean directoryOnly, String text) {}

  private final List<Rule> rules = new ArrayList<>();

  public ExcludeMatcher(List<String> patterns) {
    for (String p : patterns) {
      if (!p.startsWith("/")) {
        throw new IllegalArgumentException("Only anchored patterns are supported: " + p);
      }
      boolean dirOnly = p.endsWith("/");
      String body = p.substring(1, dirOnly ? p.length() - 1 : p.length());
      List<Pattern> parts = new ArrayList<>();
      for (String part : body.split("/")) {
        parts.add(Pattern.compile(glob(part)));
      }
      rules.add(new Rule(parts, dirOnly, p));
    }
  }

  /** Returns whether the entry at {@code relative} ('/'-separated, no leading slash) is excluded. */
  public boolean excluded(String relative, boolean directory) {
    if (rules.isEmpty()) {
      return false;
    }
    String[] parts = relative.split("/");
    for (Rule r : rules) {
      if (r.directoryOnly() && !directory || r.components().size() != parts.length) {
        continue;
      }
      boolean all = true;
      for (int i = 0; i < parts.length && all; i++) {
        all = r.components().get(i).matcher(parts[i]).matches();
      }
      if (all) {
        return true;
      }
    }
    return false;
  }

  private static String glob(String part) {
    StringBuilder sb = new StringBuilder();
    for (char c : part.toCharArray()) {
      switch (c) {
        case '*':
          sb.append("[^/]*");
          break;
        case '?':
          sb.append("[^/]");
          break;
        default:
          sb.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return sb.toString();
  }
}
