package dev.bbdiy.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Row counting in mysqldump's output, where only quotes, backticks and comments decide where things end. */
class DumpRowsTest {
  private static Map<String, Long> count(String dump) throws Exception {
    return DumpRows.count(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void counts_the_tuples_of_extended_and_single_row_inserts() throws Exception {
    assertThat(count("-- comment ; (\n/*!40101 SET NAMES utf8mb4 */;\n"
        + "CREATE TABLE `a` (\n  `id` int(11) NOT NULL COMMENT 'x; (y',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"
        + "INSERT INTO `a` VALUES\n(1,'x'),\n(2,'it\\'s (a;b)),('),\n(3,''')''');\n"
        + "INSERT INTO `a` VALUES (4,0x00FF);\n"
        + "CREATE TABLE `empty` (`id` int);\n"))
        .containsExactlyInAnyOrderEntriesOf(Map.of("a", 4L, "empty", 0L));
  }

  @Test
  void names_with_backticks_dots_and_non_ascii_letters_are_read_whole() throws Exception {
    assertThat(count("CREATE TABLE `we``ird.t` (`b` blob);\nINSERT INTO `we``ird.t` VALUES ('a'),('b');\n"
        + "CREATE TABLE IF NOT EXISTS `ünï` (`b` int);\nINSERT IGNORE INTO `ünï` (`b`) VALUES (1);\n"
        + "REPLACE INTO `ünï` VALUES (2) ;\n"))
        .containsExactlyInAnyOrderEntriesOf(Map.of("we`ird.t", 2L, "ünï", 2L));
  }

  @Test
  void views_and_triggers_in_versioned_comments_count_as_nothing() throws Exception {
    assertThat(count("/*!50001 CREATE VIEW `v` AS SELECT\n 1 AS `id` */;\n"
        + "CREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1);\n"
        + "DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `tr` BEFORE INSERT ON `t`"
        + " FOR EACH ROW BEGIN INSERT INTO `t` VALUES (9); END */;;\nDELIMITER ;\n"
        + "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50001 VIEW `v` AS select 1 AS `id` */;\n"))
        .containsExactlyInAnyOrderEntriesOf(Map.of("t", 1L));
  }

  @Test
  void binary_strings_and_long_dumps_across_buffer_boundaries() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes("CREATE TABLE `bin` (`b` blob);\nINSERT INTO `bin` VALUES ".getBytes(StandardCharsets.US_ASCII));
    int rows = 50_000;
    for (int i = 0; i < rows; i++) {
      b.writeBytes((i == 0 ? "(" : ",(").getBytes(StandardCharsets.US_ASCII));
      b.write('\'');
      b.writeBytes(new byte[] {(byte) 0xff, 0x00, '\\', '\'', ')', ';', (byte) 0x80, '(', '\\', '\\'});
      b.writeBytes("')".getBytes(StandardCharsets.US_ASCII));
    }
    b.writeBytes(";\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(DumpRows.count(new ByteArrayInputStream(b.toByteArray()))).containsEntry("bin", (long) rows);
  }
}
