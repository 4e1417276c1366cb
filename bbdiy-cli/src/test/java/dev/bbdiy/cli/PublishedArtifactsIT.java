package dev.bbdiy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every module the BOM publishes was built with what Maven Central needs besides the signature: a sources jar
 * holding its Java files and a Javadoc jar holding its pages. (The POM metadata is checked by the enforcer's
 * central-metadata execution in every module.) Runs after packaging, when the reactor has built them all.
 */
class PublishedArtifactsIT {
  private static final Path ROOT = Path.of(System.getProperty("bbdiy.root", "..")).toAbsolutePath().normalize();

  static List<String> publishedModules() throws IOException {
    String bom = Files.readString(ROOT.resolve("bbdiy-bom/pom.xml"));
    Matcher m = Pattern.compile("<groupId>dev\\.bbdiy</groupId>\\s*<artifactId>(bbdiy-[a-z-]+)</artifactId>")
        .matcher(bom);
    List<String> out = new ArrayList<>();
    while (m.find()) {
      if (!m.group(1).equals("bbdiy-bom")) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  @Test
  void every_published_module_has_a_sources_and_a_javadoc_jar() throws Exception {
    List<String> modules = publishedModules();
    assertThat(modules).contains("bbdiy-api", "bbdiy-kit", "bbdiy-testkit", "bbdiy-cli");

    for (String module : modules) {
      Path target = ROOT.resolve(module).resolve("target");
      assertThat(jarEntries(target, module, "sources")).as("%s sources", module)
          .anyMatch(e -> e.endsWith(".java"));
      assertThat(jarEntries(target, module, "javadoc")).as("%s javadoc", module)
          .contains("index.html").anyMatch(e -> e.endsWith("package-summary.html"));
    }
  }

  private static List<String> jarEntries(Path target, String module, String classifier) throws IOException {
    Path jar;
    try (Stream<Path> s = Files.list(target)) {
      jar = s.filter(p -> p.getFileName().toString().matches(Pattern.quote(module) + "-[0-9][^/]*-" + classifier
          + "\\.jar")).findFirst().orElseThrow(() -> new AssertionError("no " + classifier + " jar of " + module
          + " in " + target + ": build with mvn package (maven-source-plugin and maven-javadoc-plugin)"));
    }
    try (JarFile f = new JarFile(jar.toFile())) {
      return f.stream().map(java.util.zip.ZipEntry::getName).toList();
    }
  }
}
