package dev.bbdiy.cli;

import org.jspecify.annotations.Nullable;
import dev.bbdiy.core.Version;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Writes the man pages (troff, one per command: {@code bbdiy.1}, {@code bbdiy-backup.1}...) and the bash
 * completion script (picocli's {@link AutoComplete}, which zsh loads through {@code bashcompinit}) from the
 * commands' own help, at packaging time: {@code java -cp bbdiy.jar dev.bbdiy.cli.Docs MAN_DIR COMPLETION_FILE}.
 * picocli-codegen's generator writes AsciiDoc, which needs asciidoctor to become a man page; this needs nothing.
 */
public final class Docs {
  private Docs() {}

  /** Writes the man pages into {@code args[0]} and the bash completion script to {@code args[1]}. */
  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: Docs MAN_DIR COMPLETION_FILE");
      System.exit(2);
    }
    CommandLine root = new CommandLine(new Main(System.out, System.err, Map.of(), false));
    Path man = Files.createDirectories(Path.of(args[0]));
    List<Path> written = new ArrayList<>();
    written.add(write(man, root, null));
    for (CommandLine sub : root.getSubcommands().values()) {
      if (!sub.getCommandSpec().usageMessage().hidden() && !sub.getCommandName().equals("help")) {
        written.add(write(man, sub, root));
      }
    }
    Path completion = Path.of(args[1]);
    Files.createDirectories(completion.toAbsolutePath().getParent());
    Files.writeString(completion, AutoComplete.bash("bbdiy", root), StandardCharsets.UTF_8);
    System.out.println("Wrote " + written.size() + " man pages to " + man + " and " + completion);
  }

  private static Path write(Path dir, CommandLine cl, @Nullable CommandLine root) throws IOException {
    CommandSpec spec = cl.getCommandSpec();
    String name = root == null ? "bbdiy" : "bbdiy-" + cl.getCommandName();
    Path file = dir.resolve(name + ".1");
    try (PrintStream out = new PrintStream(Files.newOutputStream(file), false, StandardCharsets.UTF_8)) {
      out.println(".TH " + name.toUpperCase(Locale.ROOT) + " 1 \"\" \"bbdiy " + Version.current()
          + "\" \"bbdiy manual\"");
      String[] description = spec.usageMessage().description();
      out.println(".SH NAME");
      out.println(name.replace("-", "\\-") + " \\- " + escape(description.length == 0 ? "" : firstSentence(
          description[0])));
      out.println(".SH SYNOPSIS");
      CommandLine.Help help = new CommandLine.Help(spec, CommandLine.Help.defaultColorScheme(
          CommandLine.Help.Ansi.OFF));
      out.println(".nf");
      for (String line : help.synopsis(0).split("\n")) {
        out.println(escape(line.stripTrailing()));
      }
      out.println(".fi");
      out.println(".SH DESCRIPTION");
      for (String d : description) {
        out.println(d.isEmpty() ? ".PP" : escape(d));
        out.println(".PP");
      }
      if (!spec.positionalParameters().isEmpty()) {
        out.println(".SH ARGUMENTS");
        spec.positionalParameters().forEach(p -> {
          out.println(".TP");
          out.println("\\fI" + escape(p.paramLabel()) + "\\fR");
          out.println(escape(String.join(" ", p.description())));
        });
      }
      out.println(".SH OPTIONS");
      for (OptionSpec o : spec.options()) {
        if (o.hidden()) {
          continue;
        }
        out.println(".TP");
        List<String> names = new ArrayList<>();
        for (String n : o.names()) {
          names.add("\\fB" + escape(n) + "\\fR");
        }
        out.println(String.join(", ", names) + (o.arity().max() > 0 ? " \\fI" + escape(o.paramLabel()) + "\\fR"
            : ""));
        out.println(escape(String.join(" ", o.description())));
      }
      if (root != null) {
        out.println(".SH SEE ALSO");
        out.println("\\fBbbdiy\\fR(1)");
      } else {
        out.println(".SH COMMANDS");
        for (CommandLine sub : cl.getSubcommands().values()) {
          if (!sub.getCommandName().equals("help") && !sub.getCommandSpec().usageMessage().hidden()) {
            out.println(".TP");
            out.println("\\fB" + escape(sub.getCommandName()) + "\\fR");
            String[] d = sub.getCommandSpec().usageMessage().description();
            out.println(escape(d.length == 0 ? "" : d[0]) + " See \\fBbbdiy\\-" + escape(sub.getCommandName())
                + "\\fR(1).");
          }
        }
        out.println(".SH FILES");
        out.println(".TP");
        out.println("/etc/bbdiy/bbdiy.properties");
        out.println("The configuration the systemd service uses (0600).");
        out.println(".TP");
        out.println("/var/lib/bbdiy");
        out.println("Run state of the service (its working directory when none is configured).");
      }
    }
    return file;
  }

  private static String firstSentence(String s) {
    int dot = s.indexOf(". ");
    return dot < 0 ? s.replaceAll("\\.$", "") : s.substring(0, dot);
  }

  /** Escapes text for troff: backslashes, hyphens, and a dot or quote that would start a request. */
  static String escape(String s) {
    String e = s.replace("\\", "\\e").replace("-", "\\-");
    if (e.startsWith(".") || e.startsWith("'")) {
      e = "\\&" + e;
    }
    return e;
  }
}
