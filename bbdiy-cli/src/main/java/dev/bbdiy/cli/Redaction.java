package dev.bbdiy.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hides secrets in text bbdiy prints: the user info of URLs in every line, and in what a vars file printed (a
 * syntax error quoting a line, an xtrace of every assignment) the values of its secret variables.
 */
final class Redaction {
  /** What replaces a secret. */
  static final String MASK = "******";

  /** Variable names whose values are secrets whatever they map to: {@code *PASS*}, {@code *SECRET*}, {@code *TOKEN*}... */
  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY|API_?KEY).*");
  /** {@code scheme://user:password@} up to the last {@code @} before the host's end. */
  private static final Pattern USER_INFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)[^/?#\\s\"'\\]]*@");
  /** A shell assignment or {@code export}/{@code declare} of a variable, as bash prints it in an xtrace. */
  private static final Pattern ASSIGNMENT = Pattern.compile("\\b([A-Za-z_][A-Za-z0-9_]*)=");

  private final Set<String> names;
  private final List<String> values;

  private Redaction(Set<String> names, List<String> values) {
    this.names = names;
    this.values = values;
  }

  /** Removes the user info ({@code user:password@}) of every URL in {@code text}. */
  static String urls(String text) {
    if (text.indexOf('@') < 0) {
      return text;
    }
    return USER_INFO.matcher(text).replaceAll("$1");
  }

  /** Returns whether a variable of this name holds a secret by its name alone. */
  static boolean secretName(String name) {
    return SECRET_NAME.matcher(name).matches();
  }

  /**
   * Returns a redaction of the secret variables {@code names} (to which every variable whose name looks secret is
   * added) with their known {@code values}; more values are learnt from assignments in the text redacted.
   */
  static Redaction of(Collection<String> names, Collection<String> values) {
    Set<String> n = new LinkedHashSet<>(names);
    List<String> v = new ArrayList<>();
    for (String value : values) {
      if (!value.isEmpty()) {
        v.add(value);
      }
    }
    return new Redaction(n, v);
  }

  private boolean secret(String name) {
    return names.contains(name) || secretName(name);
  }

  /**
   * Hides every known secret value (also in the quoted forms bash prints) and everything after {@code NAME=} on a
   * line where NAME is a secret variable; also removes the user info of URLs.
   */
  String redact(String text) {
    List<String> all = new ArrayList<>(values);
    for (String line : text.split("\n", -1)) {
      Matcher m = ASSIGNMENT.matcher(line);
      while (m.find()) {
        if (secret(m.group(1))) {
          String learnt = shellWord(line, m.end());
          if (!learnt.isEmpty()) {
            all.add(learnt);
          }
        }
      }
    }
    Set<String> forms = new LinkedHashSet<>();
    for (String v : all) {
      forms.add(v);
      forms.add(v.replace("'", "'\\''"));
      forms.add(v.replace("'", "\\'").replace(" ", "\\ "));
    }
    List<String> longestFirst = new ArrayList<>(forms);
    longestFirst.sort(Comparator.comparingInt(String::length).reversed());
    String out = text;
    for (String f : longestFirst) {
      if (!f.isEmpty()) {
        out = out.replace(f, MASK);
      }
    }
    StringBuilder sb = new StringBuilder(out.length());
    for (String line : out.split("\n", -1)) {
      if (sb.length() > 0) {
        sb.append('\n');
      }
      sb.append(maskAssignments(line));
    }
    return urls(sb.toString());
  }

  private String maskAssignments(String line) {
    Matcher m = ASSIGNMENT.matcher(line);
    while (m.find()) {
      if (secret(m.group(1))) {
        return line.substring(0, m.end()) + MASK;
      }
    }
    return line;
  }

  /** Reads one shell word from {@code from}: quotes removed, backslash escapes applied, up to unquoted space. */
  static String shellWord(String s, int from) {
    StringBuilder w = new StringBuilder();
    int i = from;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '\'') {
        int end = s.indexOf('\'', i + 1);
        if (end < 0) {
          w.append(s, i + 1, s.length());
          break;
        }
        w.append(s, i + 1, end);
        i = end + 1;
      } else if (c == '"') {
        i++;
        while (i < s.length() && s.charAt(i) != '"') {
          if (s.charAt(i) == '\\' && i + 1 < s.length()) {
            i++;
          }
          w.append(s.charAt(i++));
        }
        i++;
      } else if (c == '\\' && i + 1 < s.length()) {
        w.append(s.charAt(i + 1));
        i += 2;
      } else if (Character.isWhitespace(c) || c == ';' || c == '`' || c == ')') {
        break;
      } else {
        w.append(c);
        i++;
      }
    }
    return w.toString();
  }
}
