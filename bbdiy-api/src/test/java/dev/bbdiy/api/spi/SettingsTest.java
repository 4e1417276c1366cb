package dev.bbdiy.api.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SettingsTest {
  static final Setting PORT = Setting.of("port", SettingType.INTEGER, "Port.").withDefault("5432")
      .withRange("1", "65535");
  static final Setting JOBS = Setting.of("jobs", SettingType.INTEGER, "Jobs.").withDefault("0").withRange("0", "64");
  static final Setting WINDOW = Setting.of("window", SettingType.DURATION, "Window.").withDefault("1h")
      .withRange("100ms", "7d");
  static final Setting WAIT = Setting.of("wait", SettingType.DURATION, "Any duration.");
  static final Setting COUNT = Setting.of("count", SettingType.INTEGER, "Any number.");
  static final List<Setting> ALL = List.of(PORT, JOBS, WINDOW, WAIT, COUNT);

  private static Settings settings(String key, String value) {
    return Settings.of("p", ALL, Map.of("p." + key, value));
  }

  @ParameterizedTest(name = "p.{0}={1} is refused: {2}")
  @CsvSource(delimiter = '|', value = {
      "port|0|0 is out of range: use 1 to 65535",
      "port|65536|65536 is out of range: use 1 to 65535",
      "port|99999999999|'99999999999' is too large",
      "port|http|'http' is not a whole number",
      "jobs|-1|-1 is out of range: use 0 to 64",
      "window|0|0 is out of range: use 100ms to 7d",
      "window|0s|0s is out of range: use 100ms to 7d",
      "window|8d|8d is out of range: use 100ms to 7d",
      "window|1000000000000d|'1000000000000d' is too long: at most 36500d",
      "wait|1000000000000d|'1000000000000d' is too long: at most 36500d",
      "wait|99999999999999999999|'99999999999999999999' is too long: at most 36500d",
      "wait|PT-5S|'PT-5S' is negative: durations count forward",
      "wait|-5s|'-5s' is not a duration: write 500ms, 30s, 5m, 2h, 1d or PT5M",
      "wait|36501d|'36501d' is too long: at most 36500d",
      "count|2147483648|'2147483648' is too large",
  })
  void values_outside_the_type_or_the_range_are_configuration_errors_naming_the_key(String key, String value,
      String why) {
    assertThatThrownBy(() -> settings(key, value))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessage("Bad value for p." + key + ": " + why);
  }

  @Test
  void values_inside_the_range_are_read() {
    assertThat(settings("port", "65535").integer(PORT)).isEqualTo(65535);
    assertThat(settings("port", "1").integer(PORT)).isEqualTo(1);
    assertThat(settings("jobs", "0").integer(JOBS)).isZero();
    assertThat(settings("window", "7d").duration(WINDOW)).isEqualTo(Duration.ofDays(7));
    assertThat(settings("window", "100ms").duration(WINDOW)).isEqualTo(Duration.ofMillis(100));
    assertThat(settings("wait", "36500d").duration(WAIT)).isEqualTo(Duration.ofDays(36500));
    assertThat(settings("wait", "0").duration(WAIT)).isZero();
    assertThat(settings("count", "-7").integer(COUNT)).isEqualTo(-7);
    assertThat(Settings.defaults("p", ALL).integer(PORT)).isEqualTo(5432);
  }

  @Test
  void a_range_is_declared_on_integers_and_durations_only_and_must_hold_its_default() {
    assertThat(PORT.min()).isEqualTo("1");
    assertThat(PORT.max()).isEqualTo("65535");
    assertThat(WAIT.min()).isNull();
    assertThatThrownBy(() -> Setting.of("x", SettingType.STRING, "x").withRange("1", "2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Only INTEGER and DURATION");
    assertThatThrownBy(() -> Setting.of("x", SettingType.INTEGER, "x").withRange("5", "1"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
    assertThatThrownBy(() -> Setting.of("x", SettingType.INTEGER, "x").withRange("one", "2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a whole number");
    assertThatThrownBy(() -> Setting.of("x", SettingType.INTEGER, "x").withDefault("0").withRange("1", "2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("Default of x: 0 is out of range: use 1 to 2");
    assertThatThrownBy(() -> Setting.of("x", SettingType.DURATION, "x").withRange("1s", "1h").withDefault("2h"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out of range");
    assertThatThrownBy(() -> new Setting("x", SettingType.INTEGER, "x", null, false, "1", null, java.util.List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both ends");
  }

  @Test
  void parse_duration_refuses_what_cannot_be_computed_with() {
    assertThat(Settings.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Settings.parseDuration("PT5M")).isEqualTo(Duration.ofMinutes(5));
    assertThatThrownBy(() -> Settings.parseDuration("106751991167301d")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("too long");
    assertThatThrownBy(() -> Settings.parseDuration("P-1D")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("negative");
  }
}
