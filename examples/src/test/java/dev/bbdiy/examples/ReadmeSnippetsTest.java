package dev.bbdiy.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's Java is compiled code: each {@code ```java} block follows a {@code <!-- from: FILE -->} comment
 * naming a source file of this repository, and its lines appear there, in order and together (indentation aside).
 * A README that drifts from the code fails the build.
 */
class ReadmeSnippetsTest {
  private static final Pattern BLOCK = Pattern.compile("<!-- from: (\\S+) -->\\s*\\n```java\\n(.*?)```",
      Pattern.DOTALL);

  @Test
  void every_java_block_of_the_readme_is_in_the_source_it_names() throws IOException {
    Path root = Path.of("..").toAbsolutePath().normalize();
    String readme = Files.readString(root.resolve("README.md"));
    int javaBlocks = count(readme, "```java");
    List<String> checked = new ArrayList<>();
    Matcher m = BLOCK.matcher(readme);
    while (m.find()) {
      Path source = root.resolve(m.group(1));
      assertThat(source).as("the README's snippet names a file that exists").isRegularFile();
      List<String> snippet = lines(m.group(2));
      List<String> code = lines(Files.readString(source));
      assertThat(indexOf(code, snippet)).as("README snippet from %s is not in it as written:%n%s", m.group(1),
          m.group(2)).isNotNegative();
      checked.add(m.group(1));
    }
    assertThat(checked).as("every ```java block of the README names its source").hasSize(javaBlocks);
    assertThat(checked).isNotEmpty();
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  /** Lines without their indentation; blank lines dropped. */
  private static List<String> lines(String text) {
    List<String> out = new ArrayList<>();
    for (String l : text.split("\n")) {
      if (!l.isBlank()) {
        out.add(l.strip());
      }
    }
    return out;
  }

  private static int indexOf(List<String> haystack, List<String> needle) {
    for (int i = 0; i + needle.size() <= haystack.size(); i++) {
      if (haystack.subList(i, i + needle.size()).equals(needle)) {
        return i;
      }
    }
    return -1;
  }
}
