package dev.bbdiy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bbdiy.api.BbdiyException;
import dev.bbdiy.api.ErrorCode;
import dev.bbdiy.api.spi.DatabaseDumper;
import dev.bbdiy.api.spi.DatabaseDumperProvider;
import dev.bbdiy.api.spi.HomeSnapshotter;
import dev.bbdiy.api.spi.HomeSnapshotterProvider;
import dev.bbdiy.api.spi.ProviderContext;
import dev.bbdiy.api.spi.Setting;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Discovery is deterministic and loud: an unknown name lists the installed ones, two providers of one name fail
 * when that name is used (naming both), and a provider that cannot be loaded, whatever the reason, never stops the
 * others.
 */
class ProviderRegistryTest {
  @TempDir Path temp;

  /** A class loader that sees the test class path plus the services files written below {@code temp}. */
  private ClassLoader withServices(String service, String... classes) throws Exception {
    Path file = temp.resolve("META-INF/services/" + service);
    Files.createDirectories(file.getParent());
    Files.writeString(file, String.join("\n", classes) + "\n");
    return new URLClassLoader(new URL[] {temp.toUri().toURL()}, getClass().getClassLoader());
  }

  @Test
  void a_provider_with_an_invalid_name_is_reported_and_the_others_load() throws Exception {
    ClassLoader cl = withServices(HomeSnapshotterProvider.class.getName(), BadName.class.getName(),
        Good.class.getName());

    ProviderRegistry registry = ProviderRegistry.builder().loadServices(cl).build();

    assertThat(registry.homes()).containsKeys("copy", "good").doesNotContainKey("Bad Name");
    assertThat(registry.archivers()).containsKeys("tar", "directory");
    assertThat(registry.loadErrors()).singleElement().asString()
        .contains(BadName.class.getName(), "'Bad Name'", "lower case");
  }

  @Test
  void a_provider_whose_name_or_settings_throw_is_reported_and_the_others_load() throws Exception {
    ClassLoader cl = withServices(HomeSnapshotterProvider.class.getName(), NameThrows.class.getName(),
        SettingsThrow.class.getName(), ConstructorThrows.class.getName(), "com.acme.Missing",
        Good.class.getName());

    ProviderRegistry registry = ProviderRegistry.builder().loadServices(cl).build();

    assertThat(registry.homes()).containsKeys("copy", "good");
    assertThat(registry.loadErrors()).hasSize(4).anySatisfy(e -> assertThat(e).contains(NameThrows.class.getName()))
        .anySatisfy(e -> assertThat(e).contains(SettingsThrow.class.getName(), "Setting key"))
        .anySatisfy(e -> assertThat(e).contains(ConstructorThrows.class.getName(), "no licence"))
        .anySatisfy(e -> assertThat(e).contains("com.acme.Missing"));
  }

  @Test
  void an_unknown_name_lists_the_installed_providers() {
    ProviderRegistry registry = ProviderRegistry.builder().add(new Good()).add(new Other()).build();

    assertThatThrownBy(() -> registry.home("goood"))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("'goood'").hasMessageContaining("home.type")
        .hasMessageContaining("good, other");
    assertThatThrownBy(() -> registry.database("postgresql"))
        .hasMessageContaining("'postgresql'").hasMessageContaining("database.type").hasMessageContaining("none");
  }

  @Test
  void two_providers_of_one_name_are_a_load_error_and_fail_only_when_that_name_is_used() throws Exception {
    ClassLoader cl = withServices(HomeSnapshotterProvider.class.getName(), Dup1.class.getName(),
        Dup2.class.getName(), Good.class.getName());

    ProviderRegistry registry = ProviderRegistry.builder().loadServices(cl).build();

    assertThat(registry.loadErrors()).singleElement().asString()
        .contains("'dup'", Dup1.class.getName(), Dup2.class.getName());
    assertThat(registry.home("good")).isInstanceOf(Good.class);
    assertThat(registry.home("copy")).isNotNull();
    assertThatThrownBy(() -> registry.home("dup"))
        .isInstanceOfSatisfying(BbdiyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIGURATION))
        .hasMessageContaining("'dup'").hasMessageContaining(Dup1.class.getName())
        .hasMessageContaining(Dup2.class.getName());
  }

  @Test
  void a_reserved_name_is_a_load_error_and_every_provider_says_where_it_came_from() throws Exception {
    ClassLoader cl = withServices(HomeSnapshotterProvider.class.getName(), Good.class.getName(),
        Other.class.getName());

    ProviderRegistry registry = ProviderRegistry.builder().reserve(List.of("other")).loadServices(cl)
        .add(new Both()).build();

    assertThat(registry.loadErrors()).singleElement().asString().contains(Other.class.getName(), "reserved");
    assertThat(registry.entries()).anySatisfy(e -> {
      assertThat(e.provider()).isInstanceOf(Good.class);
      assertThat(e.origin()).isEqualTo(ProviderRegistry.CLASS_PATH);
    }).anySatisfy(e -> {
      assertThat(e.provider()).isInstanceOf(Both.class);
      assertThat(e.kind()).isEqualTo(ProviderRegistry.Kind.DATABASE);
      assertThat(e.origin()).isEqualTo(ProviderRegistry.ADDED);
    });
  }

  /** A provider that implements two kinds (one class, one name) is no duplicate of itself. */
  @Test
  void one_class_serving_two_kinds_is_not_a_duplicate() throws Exception {
    ClassLoader cl = withServices(HomeSnapshotterProvider.class.getName(), Both.class.getName());
    Path db = temp.resolve("META-INF/services/" + DatabaseDumperProvider.class.getName());
    Files.writeString(db, Both.class.getName() + "\n");

    ProviderRegistry registry = ProviderRegistry.builder().loadServices(cl).build();

    assertThat(registry.loadErrors()).isEmpty();
    assertThat(registry.home("both")).isInstanceOf(Both.class);
    assertThat(registry.database("both")).isInstanceOf(Both.class);
  }

  public static class Good implements HomeSnapshotterProvider {
    @Override
    public String name() {
      return "good";
    }

    @Override
    public String description() {
      return "a good provider";
    }

    @Override
    public List<Setting> settings() {
      return List.of();
    }

    @Override
    public HomeSnapshotter create(ProviderContext context) {
      throw new UnsupportedOperationException();
    }
  }

  public static final class Other extends Good {
    @Override
    public String name() {
      return "other";
    }
  }

  public static final class BadName extends Good {
    @Override
    public String name() {
      return "Bad Name";
    }
  }

  public static final class NameThrows extends Good {
    @Override
    public String name() {
      throw new IllegalStateException("no name today");
    }
  }

  public static final class SettingsThrow extends Good {
    @Override
    public String name() {
      return "settings-throw";
    }

    @Override
    public List<Setting> settings() {
      return List.of(Setting.of("Not A Key", dev.bbdiy.api.spi.SettingType.STRING, "x"));
    }
  }

  public static final class ConstructorThrows extends Good {
    public ConstructorThrows() {
      throw new IllegalStateException("no licence");
    }
  }

  public static final class Dup1 extends Good {
    @Override
    public String name() {
      return "dup";
    }
  }

  public static final class Dup2 extends Good {
    @Override
    public String name() {
      return "dup";
    }
  }

  /** What a provider serving two kinds creates. */
  public interface HomeAndDatabase extends HomeSnapshotter, DatabaseDumper {}

  public static final class Both implements HomeSnapshotterProvider, DatabaseDumperProvider {
    @Override
    public String name() {
      return "both";
    }

    @Override
    public String description() {
      return "home and database";
    }

    @Override
    public List<Setting> settings() {
      return List.of();
    }

    @Override
    public HomeAndDatabase create(ProviderContext context) {
      throw new UnsupportedOperationException();
    }
  }
}
