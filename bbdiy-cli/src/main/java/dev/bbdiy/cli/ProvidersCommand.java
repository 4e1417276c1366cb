package dev.bbdiy.cli;

import dev.bbdiy.api.spi.Provider;
import dev.bbdiy.api.spi.Setting;
import dev.bbdiy.core.ProviderRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "providers", description = "Lists the installed providers and every configuration key, bbdiy's own"
    + " included.")
final class ProvidersCommand extends BaseCommand {
  @Override
  int execute() {
    ProviderRegistry registry = ProviderRegistry.load();
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
    all.put("home", kind("Home providers (home.type)", registry.homes()));
    all.put("database", kind("Database providers (database.type)", registry.databases()));
    all.put("archive", kind("Archivers (archive.type)", registry.archivers()));
    for (String e : registry.loadErrors()) {
      output.warn(e);
    }
    all.put("loadErrors", registry.loadErrors());
    if (json) {
      output.json(all);
    }
    return 0;
  }

  private List<Object> kind(String title, Map<String, ? extends Provider> providers) {
    List<Object> out = new ArrayList<>();
    output.data("");
    output.data(title + ":");
    for (Provider p : providers.values()) {
      output.data("  " + p.name() + " - " + p.description()
          + (p.capabilities().isEmpty() ? "" : " " + p.capabilities()));
      List<Object> settings = new ArrayList<>();
      for (Setting s : p.settings()) {
        settings.add(describe(p.name(), s));
        line(p.name(), s);
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", p.name());
      m.put("description", p.description());
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
    m.put("description", s.description());
    return m;
  }
}
