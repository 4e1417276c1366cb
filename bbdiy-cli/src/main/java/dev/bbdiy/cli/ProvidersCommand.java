package dev.bbdiy.cli;

import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.core.ProviderRegistry;
import dev.bbdiy.core.ProviderRegistry.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "providers", description = "Lists the installed providers, with the jar each comes from, every"
    + " configuration key (bbdiy's own included) and the plugins directories.")
final class ProvidersCommand extends BaseCommand {
  @Override
  int execute() {
    Plugins.Loaded plugins = plugins();
    ProviderRegistry registry = plugins.registry();
    Map<String, Object> all = new LinkedHashMap<>();
    List<Object> core = new ArrayList<>();
    output.data("bbdiy settings:");
    for (Map.Entry<String, List<Setting>> g : CoreKeys.GROUPS.entrySet()) {
      for (Setting s : g.getValue()) {
        core.add(describe(g.getKey(), s));
        line(g.getKey(), s);
      }
    }
    all.put("settings", core);
    all.put("home", kind("Home providers (home.type)", Kind.HOME, registry));
    all.put("database", kind("Database providers (database.type)", Kind.DATABASE, registry));
    all.put("archive", kind("Archivers (archive.type)", Kind.ARCHIVER, registry));
    output.data("");
    output.data("Plugins directories (searched in this order; every *.jar in them):");
    List<Object> dirs = new ArrayList<>();
    for (Path d : plugins.directories()) {
      boolean exists = Files.isDirectory(d);
      output.data("  " + d + (exists ? "" : " (missing)"));
      dirs.add(Map.of("path", d.toString(), "exists", exists));
    }
    all.put("pluginDirectories", dirs);
    List<String> errors = new ArrayList<>(plugins.warnings());
    errors.addAll(registry.loadErrors());
    all.put("loadErrors", errors);
    if (json) {
      output.json(all);
    }
    return 0;
  }

  private List<Object> kind(String title, Kind kind, ProviderRegistry registry) {
    List<Object> out = new ArrayList<>();
    output.data("");
    output.data(title + ":");
    for (ProviderRegistry.Entry e : registry.entries()) {
      if (e.kind() != kind) {
        continue;
      }
      Provider p = e.provider();
      boolean duplicate = registry.duplicates().containsKey(p.name());
      String origin = e.origin().equals(ProviderRegistry.CLASS_PATH) ? "built in" : e.origin();
      output.data("  " + p.name() + " - " + p.description()
          + (p.capabilities().isEmpty() ? "" : " " + p.capabilities()) + " (" + origin + ")"
          + (duplicate ? " NOT USED: another provider has the same name" : ""));
      List<Object> settings = new ArrayList<>();
      for (Setting s : p.settings()) {
        settings.add(describe(p.name(), s));
        line(p.name(), s);
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", p.name());
      m.put("description", p.description());
      m.put("origin", origin);
      m.put("usable", !duplicate);
      m.put("capabilities", p.capabilities().stream().map(Enum::name).sorted().toList());
      m.put("settings", settings);
      out.add(m);
    }
    return out;
  }

  private void line(String prefix, Setting s) {
    output.data("    " + prefix + "." + s.key() + " (" + s.type().name().toLowerCase(java.util.Locale.ROOT)
        + (s.required() ? ", required" : "") + (s.defaultValue() != null ? ", default " + s.defaultValue() : "")
        + (s.min() != null ? ", " + s.min() + " to " + s.max() : "") + ") " + s.description());
  }

  private static Map<String, Object> describe(String prefix, Setting s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("key", prefix + "." + s.key());
    m.put("type", s.type().name());
    m.put("required", s.required());
    m.put("secret", s.secret());
    m.put("default", s.defaultValue());
    m.put("min", s.min());
    m.put("max", s.max());
    m.put("environment", Config.envName(prefix + "." + s.key()));
    m.put("varsFile", s.varsFile());
    m.put("description", s.description());
    return m;
  }
}
